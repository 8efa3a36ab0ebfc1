"""Export stage: sentence-transformers folder -> self-contained artifact folder with fp32, optimized and int8 ONNX.

The layout is ``export.artifact.layout``'s. The folder is built under a temporary name beside ``out_dir`` and
renamed when complete.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from compress.config import ExportConfig, Target
from compress.data.sts import StsPairs
from compress.enums import FloatWeights
from compress.errors import CompressError
from compress.faults import crash_point
from compress.io import building_dir, write_json_atomic
from compress.models import backbone
from export.artifact.encoder import OnnxEncoder
from export.artifact.host import host_target
from export.artifact.layout import (
    EXPORT_REPORT,
    FP32,
    ONNX_DIR,
    OPENVINO_DIR,
    OPTIMIZED,
    OV_FP32,
    OV_INT8,
    QuantKind,
    align_tokenizer_config,
    copy_model_files,
    fold_modules,
    is_static,
    max_length_of,
    model_bytes,
    preference,
    quantized_file,
    runtime_of,
    settings_file,
)
from export.artifact.manifest import check_replaceable, sha256_file, write_manifest
from export.card import write_card
from export.emulated import file_invariance
from export.float_weights import FP16_PLAN, float_weight_summary, store_float_weights_fp16
from export.gate import QuantizeFn, Scorer, attempts_to_dicts, gated_quantize, refine
from export.mobile import write_ort_copies
from export.onnx_export import export_onnx
from export.openvino_export import convert_ir, nncf_quantize, wanted
from export.optimize import Optimization, model_type_for, optimize
from export.parity import Parity, check_parity, compare, parity_sentences
from export.presets import QuantPreset, preset_for, rowwise_preset_for
from export.projection import export_projected, transformer_fold
from export.quantize import (
    CALIBRATION_BATCH,
    SentenceReader,
    quantize_dynamic,
    quantize_static,
    quantized_op_count,
)
from export.rowwise import quantize_rowwise
from export.runtime_bench import measure_runtimes
from export.static import export_static
from export.table import quantize_table_4bit
from export.vocab import prune_vocabulary, tokenization_changes

log = logging.getLogger(__name__)

class ParityError(CompressError):
    """The exported graph does not reproduce PyTorch: a failed check, not bad input."""

    exit_code = 1


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    report: dict[str, Any]
    passed: bool


def check_student_dir(student_dir: Path) -> None:
    if not (student_dir / "modules.json").is_file():
        raise CompressError(f"{student_dir} is not a sentence-transformers folder (no modules.json)",
                            "pass the folder written by compress distill, or any SentenceTransformer.save() folder")


def check_out_dir(out_dir: Path, source_sha: str) -> None:
    """An existing, non-empty folder is replaced only when it holds an artifact of the same source model."""
    check_replaceable(out_dir, "source_sha256", source_sha, "something else (a different artifact or other files)",
                      "choose an empty or new output folder, or remove that one")


def _source_sha(student_dir: Path) -> str:
    """The top-level weights' sha256; with module weights too (a static student, a Dense head), a hash of all."""
    weights = [p for p in sorted(student_dir.rglob("model.safetensors")) if not p.parent.name.startswith("checkpoint")]
    if len(weights) <= 1:
        return sha256_file(weights[0]) if weights else "no-weights"
    return hashlib.sha256("".join(sha256_file(p) for p in weights).encode()).hexdigest()


def export_artifact(student_dir: Path, out_dir: Path, config: ExportConfig, sentences: list[str],
                    sts_dev: StsPairs | None, vocabulary: list[str] | None = None) -> ExportResult:
    """``sentences``: real held-back sentences for parity, calibration and the gate's cosine check;
    ``vocabulary``: the corpus sample whose tokens ``export.prune_vocab`` keeps."""
    from sentence_transformers import SentenceTransformer

    check_student_dir(student_dir)
    source_sha = _source_sha(student_dir)
    check_out_dir(out_dir, source_sha)
    with building_dir(out_dir) as tmp:  # an earlier artifact of the same source is swapped out
        model = SentenceTransformer(str(student_dir), device="cpu")
        source_dir, pruning = student_dir, None
        if config.prune_vocab:
            model, source_dir, pruning = _pruned(model, student_dir, tmp / PRUNED_DIR, vocabulary, sentences)
        copy_model_files(source_dir, tmp)
        (tmp / ONNX_DIR).mkdir()
        report = _build(model, source_dir, tmp, config, sentences, sts_dev)
        shutil.rmtree(tmp / PRUNED_DIR, ignore_errors=True)
        report["source"] = {"dir": str(student_dir), "sha256": source_sha}
        report["vocabulary"] = pruning
        report["embedding"] = describe(model, is_static(student_dir), max_length_of(tmp))
        write_json_atomic(tmp / EXPORT_REPORT, report)
        write_card(tmp, report, out_dir.name)
        write_manifest(tmp, _manifest_content(report, source_sha, config))
    return ExportResult(out_dir, report, bool(report["passed"]))


def _manifest_content(report: dict[str, Any], source_sha: str, config: ExportConfig) -> dict[str, Any]:
    int8 = {**report["quantized"], **(report["openvino"] or {}).get("quantized", {})}
    return {"source_sha256": source_sha, "opset": config.opset, "passed": report["passed"],
            "status": "passed" if report["passed"] else "failed",
            "targets": [t.value for t in config.targets], "parity": report["parity"],
            "quantized": {name: {k: entry[k] for k in ("target", "kind", "runtime", "settings", "passed", "score")}
                          for name, entry in int8.items()},
            "batch_invariance": report["batch_invariance"],
            "openvino": {k: v for k, v in (report["openvino"] or {}).items() if k != "quantized"} or None,
            "runtime_benchmark": report["runtime_benchmark"],
            "ort_format": report["ort_format"], "report": EXPORT_REPORT}


PRUNED_DIR = ".pruned-student"  # inside the folder being built, removed before the manifest


def _pruned(model: Any, student_dir: Path, work: Path, vocabulary: list[str] | None,
            heldback: list[str]) -> tuple[Any, Path, dict[str, Any]]:
    """The student with a pruned vocabulary, saved to ``work`` (the export reads a folder), and what it cost:
    texts tokenized differently, cosine to the unpruned student, both on held-back sentences."""
    from compress.metrics import cosines

    if is_static(student_dir) or not vocabulary:
        raise CompressError("export.prune_vocab needs a transformer student and a corpus sample",
                            "set export.prune_vocab = false, or export through compress run / with [data] corpus")
    before_tokenizer = model.tokenizer.backend_tokenizer
    before = model.encode(heldback, convert_to_numpy=True, show_progress_bar=False)
    model, vocab = prune_vocabulary(model, vocabulary)
    model.save(str(work))
    after = model.encode(heldback, convert_to_numpy=True, show_progress_bar=False)
    cos = cosines(after, before)
    return model, work, {**asdict(vocab), "changed_on_heldback": tokenization_changes(
        before_tokenizer, model.tokenizer.backend_tokenizer, heldback), "heldback_cosine_mean": float(cos.mean()),
        "heldback_cosine_min": float(cos.min())}


def _build(model: Any, student_dir: Path, folder: Path, config: ExportConfig, sentences: list[str],
           sts_dev: StsPairs | None) -> dict[str, Any]:
    fp32 = folder / FP32
    if is_static(student_dir):
        exporter, max_length = export_static(model, folder, fp32, config.opset)
    else:
        exporter, max_length = _export_transformer(model, student_dir, folder, config.opset), model.max_seq_length
    align_tokenizer_config(folder, max_length)
    encoder = OnnxEncoder(fp32, folder, max_length)
    probe = parity_sentences(sentences[:40], max_length)
    parity = _require_parity(check_parity(model, encoder, probe), config.parity_min_cosine, fp32)
    optimization, base = _optimize(model, fp32, probe, config, folder, max_length)
    scorer = Scorer(base, folder, max_length, sentences[:config.gate_sentences], sts_dev)
    rowwise_base = _rowwise_base(model, fp32, probe, config, folder, max_length) if config.rowwise else None
    # the base each kind quantizes: dynamic the fused graph (QAttention), row-wise the graph with separate
    # attention projections, static the unfused fp32 graph (a fused Attention has no static int8 kernel)
    bases = {QuantKind.DYNAMIC: base, QuantKind.ROWWISE: rowwise_base,
             QuantKind.STATIC: fp32 if config.static else None}
    files = {quantized_file(target.value, kind): _quantize_target(source, folder, target.value, scorer, config,
                                                                  sentences, kind)
             for target in config.targets for kind, source in bases.items() if source is not None}
    if rowwise_base is not None and rowwise_base != fp32:
        rowwise_base.unlink()
    mobile = _mobile(folder, list(files), max_length, probe, config)
    openvino = _openvino(folder, fp32, scorer, config, sentences, probe)
    invariance = _fp32_invariance(folder, [p for p in (fp32, folder / OPTIMIZED, folder / OV_FP32) if p.is_file()],
                                  scorer, config)
    int8 = {**files, **(openvino or {}).get("quantized", {})}
    invariance.update({name: entry["batch_invariance"] for name, entry in int8.items()})
    return {"exporter": exporter, "opset": config.opset, "parity": asdict(parity),
            "optimization": asdict(optimization), "quantized_from": str(base.relative_to(folder)),
            "fp32_sts_dev_spearman": scorer.fp32_spearman, "quantized": files, "ort_format": mobile,
            "openvino": openvino, "batch_invariance": invariance,
            "runtime_benchmark": _runtime_benchmark(folder, int8, sentences),
            "passed": all(f["passed"] for f in int8.values())}


def _fp32_invariance(folder: Path, paths: list[Path], scorer: Scorer, config: ExportConfig) -> dict[str, Any]:
    """The float files, on this host (an arm64 host measures them again when it opens one)."""
    return {name: file_invariance(folder, name, "fp32", scorer, config.invariance_min_cosine)
            for name in (str(p.relative_to(folder)) for p in paths)}


def _openvino(folder: Path, fp32: Path, scorer: Scorer, config: ExportConfig, sentences: list[str],
              probe: list[str]) -> dict[str, Any] | None:
    """OpenVINO IR (fp32, parity-checked against the ONNX graph) and its gated NNCF int8 file; None when skipped
    (the reason is logged)."""
    if (why := wanted(config)) is not None:
        log.info("no OpenVINO files: %s", why)
        return {"skipped": why, "quantized": {}}
    (folder / OPENVINO_DIR).mkdir()
    convert_ir(fp32, folder / OV_FP32)
    parity = compare(scorer.encoder(fp32), scorer.encoder(folder / OV_FP32), probe)
    if not parity.passed(config.parity_min_cosine):
        raise ParityError(f"{OV_FP32} does not match {FP32}: min cosine {parity.min_cosine:.6f}",
                          "report this model, or set export.openvino = \"off\"")
    calibration = list(scorer.encoder(fp32).feed_batches(sentences[-config.calibration_sentences:],
                                                         CALIBRATION_BATCH))

    def quantize(src: Path, out: Path, preset: QuantPreset) -> None:
        nncf_quantize(src, out, preset, calibration)

    entry = _gated_entry(fp32, folder / OV_INT8, folder, preset_for(Target("avx512_vnni").value), scorer, config,
                         quantize, "nncf-static")
    entry["target"] = "x86"  # one OpenVINO int8 file for every x86 target
    entry["calibration"] = {"sentences": config.calibration_sentences, "method": "minmax (nncf defaults)"}
    write_json_atomic(folder / settings_file(OV_INT8), entry)
    return {"parity": asdict(parity), "fp32": OV_FP32, "quantized": {OV_INT8: entry}}


def _runtime_benchmark(folder: Path, int8: dict[str, dict[str, Any]], sentences: list[str]) -> dict[str, Any] | None:
    """onnxruntime's best passing int8 file for this host against OpenVINO's, when both exist."""
    passing = [name for name, entry in int8.items() if entry["passed"]]
    onnx_file = next((f for f in preference(host_target()) if f in passing), None)
    if OV_INT8 not in passing or onnx_file is None:
        return None
    return measure_runtimes(folder, {"onnxruntime": onnx_file, "openvino": OV_INT8}, sentences[:256],
                            {name: bool(int8[name]["batch_invariance"]["invariant"]) for name in (onnx_file, OV_INT8)})


def _mobile(folder: Path, files: list[str], max_length: int, probe: list[str],
            config: ExportConfig) -> dict[str, Any] | None:
    if not config.ort_format:
        return None
    if config.embedding_bits == 4:  # measured with onnxruntime 1.32: "Unsupported tensor data type" on load
        return {"files": {}, "required_operators": None,
                "skipped": "the ORT format cannot hold the 4-bit table's int4 tensors"}
    return write_ort_copies(folder, files, max_length, probe)


def describe(model: Any, static: bool, max_length: int) -> dict[str, Any]:
    """What the model card says of the embedding: width, normalization, pooling, depth, length."""
    from compress.models import has_normalize

    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    return {"dim": int(model.get_embedding_dimension() or 0), "normalized": has_normalize(model),
            "pooling": str(getattr(pooling, "pooling_mode", "mean")) if pooling is not None else "mean",
            "static": static, "layers": None if static else int(backbone(model).config.num_hidden_layers),
            "max_length": max_length}


def _export_transformer(model: Any, student_dir: Path, folder: Path, opset: int) -> str:
    """optimum-onnx's export; a student with a linear projection gets it applied per token instead."""
    fold = transformer_fold(model)
    if not fold.applied:
        return export_onnx(student_dir, folder / FP32, opset)
    fold_modules(folder, fold.indices, fold.dim)
    return export_projected(model, fold, folder / FP32, opset)


def _require_parity(parity: Parity, min_cosine: float, path: Path) -> Parity:
    if not parity.passed(min_cosine):
        raise ParityError(f"{path.name} does not match PyTorch: min cosine {parity.min_cosine:.6f} < {min_cosine} "
                          f"(max abs diff {parity.max_abs_diff:.2e})", "report this model; the export is not usable")
    return parity


def _optimize(model: Any, fp32: Path, probe: list[str], settings: ExportConfig, folder: Path,
              max_length: int, name: str = OPTIMIZED, separate_projections: bool = False) -> tuple[Optimization, Path]:
    """The fused graph (``name`` in ``folder``; see ``export.optimize.optimize`` for the options) when
    ``export.optimize`` is on, fusions apply and parity still holds; else the fp32 graph, with the reason."""
    if not settings.optimize:
        return Optimization(False, {}, "export.optimize = false"), fp32
    if is_static(folder):
        return Optimization(False, {}, "static embeddings: no transformer to fuse"), fp32
    config = backbone(model).config
    dst = folder / name
    result = optimize(fp32, dst, model_type_for(config.architectures[0] if config.architectures else ""),
                      config.num_attention_heads, config.hidden_size, settings.embedding_bits == 8,
                      separate_projections)
    if not result.applied:
        log.info("graph optimization skipped: %s", result.note)
        return result, fp32
    parity = check_parity(model, OnnxEncoder(dst, folder, max_length), probe)
    if not parity.passed(settings.parity_min_cosine):
        dst.unlink()
        return Optimization(False, result.fused_ops, f"fused graph failed parity (min cosine "
                                                     f"{parity.min_cosine:.6f}); kept the unfused one"), fp32
    return Optimization(True, result.fused_ops, f"parity after fusion: min cosine {parity.min_cosine:.6f}"), dst


ROWWISE_BASE = f"{ONNX_DIR}/.model_rowwise_base.onnx"  # inside the folder being built, removed after use


def _rowwise_base(model: Any, fp32: Path, probe: list[str], config: ExportConfig, folder: Path,
                  max_length: int) -> Path:
    """The graph the row-wise files quantize: fused with MultiHeadAttention (its query, key and value MatMuls
    outside it) when the optimizer applies and parity holds, else the fp32 graph."""
    result, base = _optimize(model, fp32, probe, config, folder, max_length, ROWWISE_BASE, separate_projections=True)
    if base == fp32:
        log.info("row-wise int8 from the unfused graph: %s", result.note)
    return base


def _dynamic_with_4bit_table(src: Path, out: Path, preset: QuantPreset) -> None:
    quantize_dynamic(src, out, preset)
    quantize_table_4bit(out)


def _rowwise_with_4bit_table(src: Path, out: Path, preset: QuantPreset) -> None:
    quantize_rowwise(src, out, preset)
    quantize_table_4bit(out)


KIND_NAMES = {QuantKind.DYNAMIC: "dynamic", QuantKind.ROWWISE: "rowwise", QuantKind.STATIC: "static-qdq"}
FIXED_SCALES = ("static-qdq", "nncf-static")  # kinds whose activation scales come from calibration


def _gated_entry(src: Path, dst: Path, folder: Path, preset: QuantPreset, scorer: Scorer, config: ExportConfig,
                 quantize: QuantizeFn, kind: str) -> dict[str, Any]:
    """Quantize ``src`` to ``dst`` through the accuracy gate; its report entry, with its batch invariance."""
    gated = gated_quantize(src, dst, preset, scorer, quantize, config.min_retention, config.min_cosine,
                           fixed_scales=kind in FIXED_SCALES)
    if (config.float_weights == FloatWeights.FP16 and dst.suffix == ".onnx"  # OpenVINO IR holds its own
            and float_weight_summary(dst)["fp32_tensors"]):
        gated = refine(gated, dst, scorer, store_float_weights_fp16, FP16_PLAN, config.min_retention,
                       config.min_cosine)
    invariance = file_invariance(folder, str(dst.relative_to(folder)), preset.target, scorer,
                                 config.invariance_min_cosine)
    return {"target": preset.target, "kind": kind, "runtime": runtime_of(dst.name).value,
            "settings": gated.preset.to_dict(),
            "passed": gated.chosen.passed, "score": asdict(gated.chosen.score),
            "attempts": attempts_to_dicts(gated.attempts), "batch_invariance": invariance,
            "size_bytes": model_bytes(dst)}


def _quantizer(kind: QuantKind, target: str, folder: Path, scorer: Scorer, config: ExportConfig,
               sentences: list[str]) -> tuple[QuantizeFn, QuantPreset, int]:
    """How ``kind`` quantizes for ``target``: the function, its preset and the embedding table's bits."""
    if kind is QuantKind.STATIC:
        calibration = sentences[-config.calibration_sentences:]

        def calibrated(src: Path, out: Path, preset: QuantPreset) -> None:
            reader = SentenceReader(OnnxEncoder(src, folder, scorer.max_length), calibration)
            quantize_static(src, out, preset, reader, config.calibration_method)

        return calibrated, preset_for(target), 8
    rowwise = kind is QuantKind.ROWWISE
    preset = rowwise_preset_for(target) if rowwise else preset_for(target)
    if config.embedding_bits == 4:  # int8 leaves the table alone; then it is stored in 4 bits
        return (_rowwise_with_4bit_table if rowwise else _dynamic_with_4bit_table), preset.keeping_table(), 4
    return (quantize_rowwise if rowwise else quantize_dynamic), preset, 8


def _quantize_target(base: Path, folder: Path, target: str, scorer: Scorer, config: ExportConfig,
                     sentences: list[str], kind: QuantKind) -> dict[str, Any]:
    dst = folder / quantized_file(target, kind)
    quantize, preset, table_bits = _quantizer(kind, target, folder, scorer, config, sentences)
    entry = {**_gated_entry(base, dst, folder, preset, scorer, config, quantize, KIND_NAMES[kind]),
             "embedding_bits": table_bits,
             "float_weights": {**float_weight_summary(dst), "setting": config.float_weights.value},
             **quantized_op_count(dst)}
    if kind is QuantKind.STATIC:
        entry["calibration"] = {"sentences": config.calibration_sentences, "method": config.calibration_method.value}
    write_json_atomic(folder / settings_file(str(dst.relative_to(folder))), entry)
    crash_point("quantized")
    return entry
