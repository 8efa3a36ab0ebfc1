"""The artifact's model card (``README.md``): what it is, its scores and sizes, which file runs where, and how to
load it in each runtime that has been checked with it (sentence-transformers, ``serve``, transformers.js in Node
and the browser, fastembed, onnxruntime's mobile builds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress.quant_targets import TARGET_TABLE
from export.artifact.layout import FP32, OUTPUT, OV_INT8, REQUIRED_OPERATORS, target_of

CARD = "README.md"
RUNS_ON = {**{spec.name: spec.runs_on for spec in TARGET_TABLE}, "fp32": "anywhere (reference)"}


def _mb(size: int | None) -> str:
    return f"{size / 1e6:.1f}" if size else "n/a"


def _files_table(folder: Path, report: dict[str, Any]) -> list[str]:
    fp32_sts = report.get("fp32_sts_dev_spearman")
    invariance = report.get("batch_invariance") or {}

    def same_vector(file: str) -> str:
        measured = invariance.get(file)
        if not measured:
            return "n/a"
        where = f" on {measured['isa']}" if measured.get("isa") else ""
        return f"{measured['min_cosine']:.6f}{where}" + ("" if measured["invariant"] else " (no)")

    rows = ["| file | for | size MB | STS dev (Spearman) | cosine to fp32 (mean) | batch 1 vs 32/128 (min cosine) |",
            "|---|---|---:|---:|---:|---:|",
            f"| `{FP32}` | {RUNS_ON['fp32']} | {_mb((folder / FP32).stat().st_size)} | "
            f"{'n/a' if fp32_sts is None else f'{fp32_sts:.2f}'} | 1 | {same_vector(FP32)} |"]
    int8 = {**report.get("quantized", {}), **(report.get("openvino") or {}).get("quantized", {})}
    for file, entry in int8.items():
        score = entry.get("score", {})
        sts = score.get("sts_dev_spearman")
        where = RUNS_ON.get(entry["target"], entry["target"]) + (", OpenVINO" if file.endswith(".xml") else "")
        rows.append(f"| `{file}` | {where} | {_mb(entry.get('size_bytes'))} "
                    f"| {'n/a' if sts is None else f'{sts:.2f}'} | {score.get('cosine_mean', float('nan')):.4f} | "
                    f"{same_vector(file)} |" + ("" if entry.get("passed") else " (failed its gate)"))
    for file, copy in ((report.get("ort_format") or {}).get("files") or {}).items():
        rows.append(f"| `{file}` | the same as `{copy['source']}`, in ORT format (mobile and minimal builds) | "
                    f"{_mb(copy['size_bytes'])} | = | {copy['parity']['min_cosine']:.6f} (min) | = |")
    rows += ["", "Batch invariance is measured on the instruction set named (arm64 files in onnxruntime's aarch64 "
             "build, emulated): float rounding belongs to a CPU's kernels, so a host with another measures the file "
             "it runs when it opens it, and `serve` batches concurrent requests together only on a file measured "
             "invariant there."]
    if (bench := report.get("runtime_benchmark")):
        rows += ["", f"Runtimes measured at export on {bench['cpu']} ({bench['isa']}): {bench['summary']}; "
                 f"`runtime=\"auto\"` runs {bench['fastest']} on a host with this ISA."]
    return rows


def _usage(name: str, int8: str, dim: int, static: bool) -> list[str]:
    stem = Path(int8).stem
    st_load = (f'SentenceTransformer("{name}")' if static else
               f'SentenceTransformer("{name}", backend="onnx", model_kwargs={{"file_name": "{int8}"}})')
    return [
        "## Load it", "",
        "Python, without torch (`pip install \"st-compress[serve]\"`; picks the int8 file for the CPU):", "",
        "```python", "from serve import Embedder", f'vectors = Embedder("{name}").encode(["a sentence", "another"])',
        "```", "", "With the `openvino` extra, `Embedder(..., runtime=\"openvino\")` runs the OpenVINO files (where "
        "present); sentence-transformers' OpenVINO backend loads them too (`backend=\"openvino\"`, "
        f"`model_kwargs={{\"file_name\": \"{OV_INT8}\"}}`; add `\"ov_config\": "
        "{\"INFERENCE_PRECISION_HINT\": \"f32\"}` for the precision the export checked: on CPUs with native bf16 "
        "OpenVINO runs bf16 by default).", "",
        "sentence-transformers" + (" (the token table is a module's weights: no ONNX backend needed):" if static
                                   else " (its ONNX backend):"), "",
        "```python", "from sentence_transformers import SentenceTransformer", f"model = {st_load}",
        'vectors = model.encode(["a sentence", "another"])', "```", "",
        "transformers.js (Node or the browser; the graph's first output `token_embeddings` is final, so the plain "
        "pipeline with mean pooling gives the model's embedding):", "",
        "```js", "import { pipeline, env } from '@huggingface/transformers';",
        "env.localModelPath = '/path/to/the/parent/folder/';  // or serve the folder and point at its URL",
        "env.allowRemoteModels = false;",
        f"const extractor = await pipeline('feature-extraction', '{name}', "
        f"{{ dtype: 'fp32', model_file_name: '{stem}' }});",
        "const output = await extractor(['a sentence', 'another'], { pooling: 'mean', normalize: true });",
        "```", "",
        "`AutoModel.from_pretrained(...)` with the same options returns `sentence_embedding` directly. Texts over "
        "the max length lose their final `[SEP]` in transformers.js' truncation (not in Python): their vectors "
        "differ slightly."
        + (" transformers.js logs \"Unknown model class\" for this static model and runs it as a plain encoder, which "
           "is what it is." if static else ""), "",
        "fastembed, as a custom model:", "",
        "```python", "from fastembed import TextEmbedding",
        "from fastembed.common.model_description import ModelSource, PoolingType",
        f'TextEmbedding.add_custom_model(model="local/{name}", pooling=PoolingType.MEAN, normalization=True,',
        f'                               sources=ModelSource(hf="local/{name}"), dim={dim}, model_file="{int8}")',
        f'model = TextEmbedding("local/{name}", specific_model_path="{name}")', "```", "",
        "Mobile: the `.ort` files (where present) load in onnxruntime's mobile packages and in a minimal build made "
        f"with `--minimal_build --include_ops_by_config {REQUIRED_OPERATORS}`."]


def _prompt_lines(folder: Path) -> list[str]:
    """The query/document prompts the model was distilled with: every runtime must put them before the texts."""
    from export.artifact.prompts import read_prompts

    prompts = read_prompts(folder)
    if not prompts:
        return []
    return ["## Prompts", "", f"Put `{prompts.query}` before each query and `{prompts.document}` before each document "
            "(the teacher's prompts, kept in `config_sentence_transformers.json`). sentence-transformers' "
            "`encode_query` / `encode_document` and `compress serve` (`\"input_type\": \"query\"` or "
            "`\"document\"`) do it for you; in other runtimes add them to the text.", ""]


def card_markdown(folder: Path, report: dict[str, Any], name: str, scores: list[str] | None = None) -> str:
    """``name``: the folder's name as users will see it; ``scores``: lines from a benchmark (a release adds its
    STS test and teacher comparison)."""
    info = report.get("embedding", {})
    dim, static = int(info.get("dim", 0)), bool(info.get("static"))
    int8 = next((f for f in report.get("quantized", {}) if target_of(f) == "avx2"),
                next(iter(report.get("quantized", {})), FP32))
    what = ("static token vectors, averaged (no transformer layers)" if static
            else f"a {info.get('layers', '?')}-layer transformer encoder")
    lines = [f"# {name}", "",
             f"A sentence-embedding model made by st-compress: {what}, {dim}-dim "
             f"{'normalized ' if info.get('normalized') else ''}embeddings, {info.get('pooling', 'mean')} pooling "
             f"inside the graph, up to {info.get('max_length')} tokens. Inputs `input_ids` and `attention_mask`; "
             f"outputs `{OUTPUT}` (the embedding) and `token_embeddings` (per token, already projected: their masked "
             "mean is the embedding before normalization).", "",
             *_prompt_lines(folder),
             *(["## Scores", "", *scores, ""] if scores else []),
             "## Files", "", *_files_table(folder, report), "",
             "STS dev and cosine are the export's accuracy gate (against the fp32 file). `manifest.json` holds the "
             "sha256 of every file (`compress verify FOLDER`).", "",
             *_usage(name, int8, dim, static)]
    return "\n".join(lines) + "\n"


def write_card(folder: Path, report: dict[str, Any], name: str, scores: list[str] | None = None) -> None:
    from compress.io import write_text_atomic

    write_text_atomic(folder / CARD, card_markdown(folder, report, name, scores))
