"""Edge profiles: the artifact checked in the runtimes edge and web developers load it in.

- ``qemu``: the arm64 int8 file on the aarch64 build of onnxruntime, under user-mode emulation with the CPU model
  of a real device (``rpi4``: Cortex-A72, no dot-product; ``rpi5``: Cortex-A76; ``arm64-server``: Neoverse-N1);
- ``node``: transformers.js on onnxruntime-node, as its users call it (``AutoModel`` and the
  ``feature-extraction`` pipeline with mean pooling);
- ``browser``: the same in headless Chromium, on onnxruntime-web (WebAssembly).

Each run embeds the same texts in the same batches as the Python run of the same file on this host, so accuracy
and agreement are measured against it. Timing under emulation is recorded as emulated and never gated on.
"""
