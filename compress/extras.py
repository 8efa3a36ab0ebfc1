"""Optional runtimes that an extra installs: whether this environment has one, and the pip command that adds it.
Torch-free (the runtime and the artifact owner use it)."""

from __future__ import annotations

from typing import Any

from compress.errors import CompressError

INSTALL = "pip install 'st-compress[openvino]'"


def openvino_module() -> Any:
    """``openvino``, or an error (exit 2) that gives the pip command."""
    try:
        import openvino
    except ImportError:
        raise CompressError("the OpenVINO runtime is not installed",
                            f"install it: {INSTALL} (or use runtime 'onnxruntime')") from None
    return openvino


def openvino_available() -> bool:
    try:
        openvino_module()
    except CompressError:
        return False
    return True
