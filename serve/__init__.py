"""Torch-free runtime (onnxruntime + tokenizers + numpy) and HTTP server for exported artifacts."""

from serve.embedder import Embedder

__all__ = ["Embedder"]
