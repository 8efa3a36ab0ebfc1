"""st-compress: distill a Sentence Transformer into a small, fast ONNX model and prove what was kept."""

from __future__ import annotations

__version__ = "0.1.0"
