"""The artifact format's one owner: layout and file names, which file runs where, the manifest, the host's ISA,
and the torch-free ONNX encoder. ``export`` writes artifacts through it; ``serve``, the benchmark and
``compress run`` read them through it. Nothing here imports torch."""
