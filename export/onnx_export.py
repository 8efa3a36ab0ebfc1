"""Export a sentence-transformers folder to ONNX with pooling (and normalization) inside the graph.

Inputs ``input_ids``, ``attention_mask``; outputs ``token_embeddings`` first (what sentence-transformers' ONNX
backend reads) and ``sentence_embedding``. optimum-onnx's exporter for the sentence_transformers library makes
exactly this pair; ``torch.onnx.export`` of the same wrapper is the fallback when optimum cannot export a model.

A third output, ``last_hidden_state``, is an Identity alias of ``token_embeddings``: optimum-onnx 0.1.0's
``ORTModelForFeatureExtraction`` (which sentence-transformers' ONNX backend uses) looks up the output by that
name rather than by position, so without it ``SentenceTransformer(folder, backend="onnx")`` fails.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OUTPUTS = ["token_embeddings", "sentence_embedding"]
ALIAS = "last_hidden_state"
TWO_GB = 2 * 1024**3


def export_onnx(student_dir: Path, onnx_path: Path, opset: int) -> str:
    """Write ``onnx_path`` (plus external data for models over 2 GB); return the exporter used."""
    try:
        _optimum_export(student_dir, onnx_path, opset)
        exporter = "optimum-onnx"
    except Exception as exc:  # optimum raises many types for unsupported models; fall back, say why
        log.warning("optimum export failed (%s: %s); falling back to torch.onnx.export", type(exc).__name__, exc)
        torch_export(student_dir, onnx_path, opset)
        exporter = "torch.onnx.export"
    add_hidden_state_alias(onnx_path)
    return exporter


def add_hidden_state_alias(onnx_path: Path) -> None:
    import onnx

    model = onnx.load(str(onnx_path))
    if any(o.name == ALIAS for o in model.graph.output):
        return
    source = next(o for o in model.graph.output if o.name == OUTPUTS[0])
    model.graph.node.append(onnx.helper.make_node("Identity", [source.name], [ALIAS], name="last_hidden_state_alias"))
    alias = onnx.ValueInfoProto()
    alias.CopyFrom(source)
    alias.name = ALIAS
    model.graph.output.append(alias)
    large = model.ByteSize() > TWO_GB
    onnx.save(model, str(onnx_path), save_as_external_data=large, location=f"{onnx_path.name}_data" if large else None)


def _optimum_export(student_dir: Path, onnx_path: Path, opset: int) -> None:
    from optimum.exporters.onnx import main_export

    with tempfile.TemporaryDirectory(dir=onnx_path.parent) as tmp:
        main_export(str(student_dir), tmp, task="feature-extraction", library_name="sentence_transformers",
                    opset=opset, do_validation=False, local_files_only=True)
        for file in Path(tmp).iterdir():
            if file.name.startswith("model.onnx"):  # the graph and any external data files
                shutil.move(str(file), onnx_path.parent / file.name.replace("model.onnx", onnx_path.name))


def torch_export(student_dir: Path, onnx_path: Path, opset: int) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(student_dir), device="cpu").eval()

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.model({"input_ids": input_ids, "attention_mask": attention_mask})
            return out["token_embeddings"], out["sentence_embedding"]

    sample = model.preprocess(["an example sentence for tracing", "two"])
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    trace_export(Wrapper(), sample["input_ids"], sample["attention_mask"], onnx_path, opset, size > TWO_GB)


def trace_export(module: Any, input_ids: Any, attention_mask: Any, onnx_path: Path, opset: int,
                 external_data: bool = False) -> None:
    """``torch.onnx.export`` of a module mapping (input_ids, attention_mask) to (token, sentence) embeddings."""
    import torch

    with torch.no_grad():
        torch.onnx.export(module.eval(), (input_ids, attention_mask), str(onnx_path),
                          input_names=["input_ids", "attention_mask"], output_names=OUTPUTS,
                          dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                        "attention_mask": {0: "batch_size", 1: "sequence_length"},
                                        "token_embeddings": {0: "batch_size", 1: "sequence_length"},
                                        "sentence_embedding": {0: "batch_size"}},
                          opset_version=opset, dynamo=False, external_data=external_data)
