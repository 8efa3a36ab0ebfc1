"""Head to head on this CPU: the int8 file ``serve`` runs for the default release against all-MiniLM-L6-v2 int8.

One run per machine. Peers, each run by onnxruntime with the same Rust tokenizer (OpenVINO for an IR file):

- the student's files: the one ``serve`` runs (its runtime as the manifest picks it), the row-wise, dynamic and
  static int8 files for this CPU, the OpenVINO int8 file (those the artifact has);
- all-MiniLM-L6-v2 int8 as sentence-transformers exports it (``export_dynamic_quantized_onnx_model``, this CPU's
  preset: its file holds token embeddings only; mean pooling and normalization in numpy, as its backend pools);
- all-MiniLM-L6-v2 as ``compress export`` exports it: the file ``serve`` runs for it.

At 1 and 2 intra-op threads, in alternating rounds (medians): batch-1 p50 over STS-B test sentences, batch-32
throughput on held-back corpus sentences in corpus order and length-sorted (as ``serve`` and
sentence-transformers' ``encode`` batch). Once: STS-B dev Spearman and its share of the model's own fp32 file,
batch 1 against batches of 32 and 128 (min cosine), mean cosine to the fp32 file. As users call them (one
whole-list call, default threads): ``serve.Embedder.encode`` on the release against sentence-transformers'
``SentenceTransformer(..., backend="onnx").encode``. Where the time goes: onnxruntime's kernel time per op type
for the served file at batch 1 and 32, and each model's int8 work per sentence against the cores' int8 peak.

With ``--emulate PROFILE`` (``arm64-server``, ``rpi5``, ``rpi4``: scripts/setup-arm64.sh) the arm64 files instead,
each in onnxruntime's aarch64 build under qemu-user with that profile's CPU, one thread: sentence-transformers'
arm64 file with its pooling appended in the graph (``compress.bench.peer_exports.with_pooling``: the emulated
runtime takes a file and nothing else). Emulated timings are the emulator's: their ratios say which file does less
work on that CPU's instructions, not how fast a device runs it.

Reproduce (repo root, after scripts/setup.sh; an idle machine):
    .venv/bin/compress export <all-MiniLM-L6-v2 folder> runs/minilm-artifact
    .venv/bin/python benchmarks/int8_head_to_head.py --artifact runs/release --minilm runs/minilm-artifact
    .venv/bin/python benchmarks/int8_head_to_head.py --artifact runs/release --minilm runs/minilm-artifact \
        --emulate arm64-server

Writes benchmarks/results/int8_head_to_head/<isa>.{json,md} (emulated: <profile>.{json,md}).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from compress.bench.int8_limit import limit, op_profile
from compress.bench.peer_exports import TokenPoolingEncoder, host_preset, st_int8_export, st_int8_file, with_pooling
from compress.bench.results import add_data_argument, command_line, results_dir, write_results
from compress.data import load_corpus, load_sts
from compress.data.sts import StsPairs
from compress.machine import machine_info, machine_line
from compress.metrics import cosines, sts_spearman_from_embeddings
from compress.models import minilm_path
from export.artifact import layout
from export.artifact.encoder import TextEncoder
from export.artifact.host import host_isa, host_target, int8_kernels
from export.artifact.load import load_artifact, open_file
from export.runtime_bench import p50_ms, throughput

RESULTS = results_dir(__file__) / "int8_head_to_head"
SINGLES = 100
TEXTS = 1024
BASELINE = "all-MiniLM-L6-v2 int8 (sentence-transformers export)"
SERVED = "student: the file serve runs"
EMULATED_PAIRS = 500  # STS dev pairs under emulation (the first ones): each file's accuracy, not its ranking
TARGETS = {"b1_ratio_max": 0.6, "b32_ratio_min": 1.5, "min_cosine": 0.9999, "sts_dev_kept_min": 99.7}


def peers(artifact: Path, minilm: Path, work: Path) -> dict[str, tuple[Path, str, Path]]:
    """label -> (folder, file, the model's fp32 folder), the served file first."""
    target = host_target() or "avx2"
    choice = load_artifact(artifact)  # as serve opens it: the manifest's runtime, this CPU's file
    rows = {f"{SERVED} ({choice.file}, {choice.runtime.runtime.value})": (artifact, choice.file, artifact)}
    for kind in layout.QuantKind:
        file = layout.quantized_file(target, kind)
        if (artifact / file).is_file() and file != choice.file:
            rows[f"student: {kind.name.lower()} int8 ({file})"] = (artifact, file, artifact)
    if (artifact / layout.OV_INT8).is_file() and choice.file != layout.OV_INT8:
        rows[f"student: OpenVINO int8 ({layout.OV_INT8})"] = (artifact, layout.OV_INT8, artifact)
    st = work / f"minilm-st-{host_preset()}"
    if not st_int8_file(st, host_preset()).is_file():
        st_int8_export(str(minilm_path()), st, host_preset())
    rows[BASELINE] = (st, st_int8_file(st, host_preset()).relative_to(st).as_posix(), minilm)
    ours = load_artifact(minilm)
    rows[f"all-MiniLM-L6-v2 int8 (our export: {ours.file}, {ours.runtime.runtime.value})"] = (minilm, ours.file,
                                                                                                minilm)
    return rows


def encoder_for(folder: Path, file: str, threads: int | None) -> TextEncoder:
    if (folder / layout.EXPORT_REPORT).is_file():  # ours; sentence-transformers' folder has no export report
        return open_file(folder, file, threads)
    return TokenPoolingEncoder(folder / file, folder, layout.max_length_of(folder), threads)  # sentence-transformers'


def timed(rows: dict[str, tuple[Path, str, Path]], threads: int, singles: list[str], texts: list[str],
          rounds: int) -> dict[str, dict[str, float]]:
    """Medians of ``rounds`` alternating rounds (each round runs every peer once, in turn)."""
    encoders = {label: encoder_for(folder, file, threads) for label, (folder, file, _) in rows.items()}
    for encoder in encoders.values():
        encoder.encode(texts[:128], batch_size=32)  # warm-up: kernels for new shapes
    by_length = sorted(texts, key=len)
    seen: dict[str, dict[str, list[float]]] = {k: {"b1_p50_ms": [], "b32": [], "b32_sorted": []} for k in encoders}
    for round_index in range(rounds):
        print(f"{threads} thread(s): round {round_index + 1}/{rounds}", file=sys.stderr)
        for label, encoder in encoders.items():
            seen[label]["b1_p50_ms"].append(p50_ms(encoder, singles))
            seen[label]["b32"].append(throughput(encoder, texts))
            seen[label]["b32_sorted"].append(throughput(encoder, by_length))
    return {label: {k: statistics.median(v) for k, v in values.items()} for label, values in seen.items()}


def quality(rows: dict[str, tuple[Path, str, Path]], sts_dev: Any, invariance_texts: list[str],
            texts: list[str]) -> dict[str, dict[str, float]]:
    """STS dev and its share of the model's fp32 file, batch invariance, mean cosine to the fp32 file."""
    references: dict[Path, tuple[float, np.ndarray]] = {}
    out = {}
    for label, (folder, file, model_folder) in rows.items():
        print(f"accuracy: {label}", file=sys.stderr)
        if model_folder not in references:
            fp32 = open_file(model_folder, layout.FP32)
            references[model_folder] = (spearman(fp32, sts_dev), fp32.encode(texts[:256]))
        fp32_sts, fp32_vectors = references[model_folder]
        encoder = encoder_for(folder, file, None)
        alone = np.concatenate([encoder.encode([t], batch_size=1) for t in invariance_texts])
        worst = min(float(cosines(encoder.encode(invariance_texts, batch_size=b), alone).min()) for b in (32, 128))
        sts = spearman(encoder, sts_dev)
        out[label] = {"sts_dev": sts, "sts_dev_kept_percent": 100 * sts / fp32_sts, "batch_min_cosine": worst,
                      "cosine_to_fp32": float(cosines(encoder.encode(texts[:256]), fp32_vectors).mean())}
    return out


def spearman(encoder: TextEncoder, sts: Any) -> float:
    return sts_spearman_from_embeddings(encoder.encode(sts.sentences1), encoder.encode(sts.sentences2), sts)


def as_users_call(artifact: Path, st_folder: Path, st_file: str, texts: list[str], rounds: int) -> dict[str, float]:
    """One whole-list call per round, default threads: best sentences/s of each, alternating."""
    from sentence_transformers import SentenceTransformer

    from serve import Embedder

    ours = Embedder(artifact)
    theirs = SentenceTransformer(str(st_folder), backend="onnx", model_kwargs={"file_name": st_file}, device="cpu")
    calls = {"student: serve.Embedder(release).encode": lambda: ours.encode(texts),
             "all-MiniLM-L6-v2: SentenceTransformer(backend='onnx').encode": lambda: theirs.encode(
                 texts, batch_size=32)}
    best = dict.fromkeys(calls, 0.0)
    for _ in range(rounds):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            best[label] = max(best[label], len(texts) / (time.perf_counter() - start))
    return best


def inputs(data: Path) -> tuple[StsPairs, list[str], list[str]]:
    """STS-B dev, the batch-1 texts (STS-B test sentences) and the batch-32 texts (held-back corpus sentences)."""
    sts_dev, sts_test = load_sts(data / "stsb" / "dev.csv"), load_sts(data / "stsb" / "test.csv")
    singles = list(dict.fromkeys(sts_test.sentences1 + sts_test.sentences2))[:SINGLES]
    texts = load_corpus(data / "corpus" / "sentences.txt.gz", max_sentences=20000, validation=TEXTS).validation
    return sts_dev, singles, texts


def measure(args: argparse.Namespace) -> dict[str, Any]:
    artifact, minilm = Path(args.artifact), Path(args.minilm)
    sts_dev, singles, texts = inputs(Path(args.data))
    rows = peers(artifact, minilm, Path(args.work))
    speed = {str(t): timed(rows, t, singles, texts, args.rounds) for t in args.threads}
    served = next(iter(rows))
    st_folder, st_file, _ = rows[BASELINE]
    profile_file = artifact / rows[served][1]
    return {"schema": "st-compress/int8-head-to-head/1", "command": command_line(__file__),
            "machine": {**machine_info(), "int8_kernels": int8_kernels()}, "artifact": str(artifact),
            "minilm": str(minilm), "rounds": args.rounds, "texts": len(texts), "singles": len(singles),
            "peers": {label: {"folder": str(f), "file": file} for label, (f, file, _) in rows.items()},
            "speed": speed, "quality": quality(rows, sts_dev, singles, texts), "served": served,
            "baseline": BASELINE, "targets": TARGETS,
            "as_users_call": as_users_call(artifact, st_folder, st_file, texts, args.rounds),
            "profile": {} if profile_file.suffix == ".xml" else {
                f"batch {b}": op_profile(profile_file, artifact, sorted(texts, key=len), b, 1) for b in (1, 32)},
            "limit": {"student": limit(artifact, texts, speed[str(args.threads[0])][served]["b32_sorted"],
                                       args.threads[0]),
                      "all-MiniLM-L6-v2": limit(minilm, texts, speed[str(args.threads[0])][BASELINE]["b32_sorted"],
                                                args.threads[0])}}


def emulated_peers(artifact: Path, minilm: Path, work: Path) -> dict[str, tuple[Path, str]]:
    """The arm64 files: the student's (the one serve runs on arm64 first, and the dynamic one) and
    all-MiniLM-L6-v2's (sentence-transformers' arm64 export with its pooling in the graph, and ours)."""
    st = work / "minilm-st-arm64"
    if not st_int8_file(st, "arm64").is_file():
        st_int8_export(str(minilm_path()), st, "arm64")
    served = layout.choose_file(artifact, "arm64", exact=True)
    return {f"{SERVED} on arm64 ({served})": (artifact, served),
            f"student: dynamic int8 ({layout.quantized_file('arm64')})": (artifact, layout.quantized_file("arm64")),
            BASELINE: (st, with_pooling(st, st_int8_file(st, "arm64").relative_to(st).as_posix())),
            f"all-MiniLM-L6-v2 int8 (our export: {layout.choose_file(minilm, 'arm64', exact=True)})": (
                minilm, layout.choose_file(minilm, "arm64", exact=True))}


def emulated(args: argparse.Namespace) -> dict[str, Any]:
    """Each arm64 file in the emulated worker: batch-1 latency, batch-32 throughput (as given and length-sorted),
    STS dev on its first ``EMULATED_PAIRS`` pairs, batch invariance (its own batch 1 against 32)."""
    import tempfile

    from compress.bench.edge.measure import onnx_worker_spec
    from compress.bench.edge.qemu import emulated_worker, runtime_line
    from compress.profiles import get_profile

    profile = get_profile(args.emulate)
    sts_dev, _, texts = inputs(Path(args.data))
    rows = emulated_peers(Path(args.artifact), Path(args.minilm), Path(args.work))
    out: dict[str, Any] = {}
    for label, (folder, file) in rows.items():
        print(f"emulated {args.emulate}: {label}", file=sys.stderr)
        # the STS pairs' sentences are its held-back texts: embedded there, scored here (no scipy under emulation);
        # the first of them are the batch invariance texts
        pairs = StsPairs(sts_dev.sentences1[:EMULATED_PAIRS], sts_dev.sentences2[:EMULATED_PAIRS],
                         list(sts_dev.scores)[:EMULATED_PAIRS])
        with tempfile.TemporaryDirectory() as tmp:
            spec = onnx_worker_spec(str(folder), file, texts, Path(tmp) / "e.npy", 10, 2, 2,
                                    heldback=pairs.sentences1 + pairs.sentences2, threads=1)
            result, error = emulated_worker(profile, spec, Path(tmp), 7200)
            if error:
                raise RuntimeError(f"{label}: {error}")
            vectors = np.load(Path(tmp) / "e.npy")
        half = len(pairs.sentences1)
        out[label] = {"file": file, "b1_p50_ms": result["latency_batch1"]["total"]["p50_ms"],
                      "b32": result["throughput"]["32"], "b32_sorted": result["throughput_sorted"]["32"],
                      "sts_dev": sts_spearman_from_embeddings(vectors[:half], vectors[half:], pairs),
                      "batch_min_cosine": result["batch_invariance"]["min_cosine"]}
    return {"schema": "st-compress/int8-head-to-head-emulated/1", "command": command_line(__file__),
            "machine": machine_info(), "profile": args.emulate, "runtime": runtime_line(profile),
            "baseline": BASELINE, "rows": out}


def emulated_markdown(doc: dict[str, Any]) -> str:
    base = doc["rows"][doc["baseline"]]
    lines = [f"# int8 head to head, emulated arm64 ({doc['profile']})", "", f"Command: `{doc['command']}`", "",
             f"Host: {machine_line(doc['machine'])}", f"Runtime: {doc['runtime']}, one thread.", "",
             "Timings are the emulator's (qemu-user translating each arm64 instruction on the x86 host): their "
             "ratios say which file does less work on that CPU's instructions, not how fast a device runs it.", "",
             f"STS dev on its first {EMULATED_PAIRS} pairs.", "",
             "| file | b1 p50 ms (emulated) | b1 ratio | b32 sent/s (emulated) | b32 ratio | b32 sorted | sorted ratio "
             "| STS dev | batch 1 vs 32 min cosine |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in doc["rows"].items():
        lines.append(f"| {label} | {r['b1_p50_ms']:.1f} | {r['b1_p50_ms'] / base['b1_p50_ms']:.2f}x | {r['b32']:.1f} "
                     f"| {r['b32'] / base['b32']:.2f}x | {r['b32_sorted']:.1f} | "
                     f"{r['b32_sorted'] / base['b32_sorted']:.2f}x | {r['sts_dev']:.2f} | "
                     f"{r['batch_min_cosine']:.6f} |")
    return "\n".join(lines) + "\n"


def verdict(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets for the served file against the baseline, per thread count, and its accuracy."""
    served, base, t = doc["served"], doc["baseline"], doc["targets"]
    checks = []
    for threads, rows in doc["speed"].items():
        b1 = rows[served]["b1_p50_ms"] / rows[base]["b1_p50_ms"]
        checks.append({"check": f"batch-1 p50, {threads} thread(s)", "value": b1, "target": f"<= {t['b1_ratio_max']}x",
                       "met": b1 <= t["b1_ratio_max"]})
        for key, what in (("b32", "corpus order"), ("b32_sorted", "length-sorted")):
            ratio = rows[served][key] / rows[base][key]
            checks.append({"check": f"batch-32 throughput ({what}), {threads} thread(s)", "value": ratio,
                           "target": f">= {t['b32_ratio_min']}x", "met": ratio >= t["b32_ratio_min"]})
    q = doc["quality"][served]
    checks.append({"check": "batch 1 vs 32/128 min cosine", "value": q["batch_min_cosine"],
                   "target": f">= {t['min_cosine']}", "met": q["batch_min_cosine"] >= t["min_cosine"]})
    checks.append({"check": "STS dev, % of fp32", "value": q["sts_dev_kept_percent"],
                   "target": f">= {t['sts_dev_kept_min']}", "met": q["sts_dev_kept_percent"] >= t["sts_dev_kept_min"]})
    return checks


def markdown(doc: dict[str, Any]) -> str:
    m, base = doc["machine"], doc["baseline"]
    lines = [f"# int8 head to head on {m.get('cpu', 'this CPU')} ({host_isa()})", "", f"Command: `{doc['command']}`",
             "", machine_line(m), f"int8 kernels: onnxruntime {m['int8_kernels']['onnxruntime']}.", "",
             f"Medians of {doc['rounds']} alternating rounds; batch-1 p50 over {doc['singles']} STS-B test "
             f"sentences, batch 32 over {doc['texts']} held-back corpus sentences. Ratios are to {base}.", ""]
    for threads, rows in doc["speed"].items():
        lines += [f"## {threads} thread(s)", "", "| file | b1 p50 ms | b1 ratio | b32 sent/s | b32 ratio | "
                  "b32 sorted | sorted ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
        ref = rows[base]
        for label, r in rows.items():
            lines.append(f"| {label} | {r['b1_p50_ms']:.2f} | {r['b1_p50_ms'] / ref['b1_p50_ms']:.2f}x | "
                         f"{r['b32']:.0f} | {r['b32'] / ref['b32']:.2f}x | {r['b32_sorted']:.0f} | "
                         f"{r['b32_sorted'] / ref['b32_sorted']:.2f}x |")
        lines.append("")
    lines += ["## Accuracy and batch invariance", "", "| file | STS dev | % of its fp32 | batch 1 vs 32/128 min "
              "cosine | mean cosine to fp32 |", "|---|---:|---:|---:|---:|"]
    for label, q in doc["quality"].items():
        lines.append(f"| {label} | {q['sts_dev']:.2f} | {q['sts_dev_kept_percent']:.2f} | "
                     f"{q['batch_min_cosine']:.6f} | {q['cosine_to_fp32']:.5f} |")
    lines += ["", "## As users call them (one whole-list call, default threads)", "", "| call | sentences/s |",
              "|---|---:|", *[f"| `{k}` | {v:.0f} |" for k, v in doc["as_users_call"].items()], "",
              "## Targets (the served file against the baseline)", "", "| check | value | target | met |",
              "|---|---:|---|---|",
              *[f"| {c['check']} | {c['value']:.4g} | {c['target']} | {'yes' if c['met'] else 'no'} |"
                for c in doc["verdict"]], "", "## Where the time goes", ""]
    for name, p in doc["profile"].items():
        shares = ", ".join(f"{op} {100 * v:.1f}%" for op, v in p["op_share"].items())
        lines.append(f"- served file, length-sorted, {name}, 1 thread: padding {100 * p['padding_share']:.1f}% of "
                     f"tokens; {shares}")
    for name, lim in doc["limit"].items():
        lines.append(f"- {name}: {lim['ops_per_sentence'] / 1e9:.3f} GOP per sentence (mean {lim['mean_tokens']:.1f} "
                     f"tokens); peak {lim['peak_int8_ops_per_s'] / 1e12:.2f} int8 TOPS on {lim['cores']} core(s) "
                     f"({lim['clock_mhz']:.0f} MHz x {lim['int8_macs_per_cycle_per_core']} MACs/cycle x 2) = "
                     f"{lim['limit_sentences_per_s']:.0f} sentences/s; measured {lim['measured_per_s']:.0f}/s "
                     f"(length-sorted batch 32) = {100 * lim['share_of_peak']:.1f}% of peak")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", required=True, help="the default student's release or export folder")
    parser.add_argument("--minilm", required=True, help="all-MiniLM-L6-v2 exported by compress export")
    parser.add_argument("--threads", type=lambda v: [int(t) for t in v.split(",")], default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", default="runs/head_to_head", help="where sentence-transformers' export is made")
    parser.add_argument("--name", default=None, help="results file name (default: this CPU's ISA, or the profile)")
    parser.add_argument("--emulate", default=None, help="an emulated arm64 profile: arm64-server, rpi5, rpi4")
    add_data_argument(parser)
    args = parser.parse_args()
    for path in (Path(args.artifact), Path(args.minilm)):
        if not (path / layout.MODULES).is_file():
            parser.error(f"{path} is not an artifact folder (no {layout.MODULES}): export it first")
    if args.emulate:
        doc = emulated(args)
        path = write_results(RESULTS, args.name or args.emulate, doc, emulated_markdown(doc))
    else:
        doc = measure(args)
        doc["verdict"] = verdict(doc)
        path = write_results(RESULTS, args.name or host_isa(), doc, markdown(doc))
    print(path)


if __name__ == "__main__":
    main()
