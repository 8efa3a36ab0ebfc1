"""ONNX export, graph optimization and per-target quantization (see the export issue)."""
