"""Turn `experiment.py`'s results.jsonl into benchmarks/results/scaling.{json,md}.

    .venv/bin/python benchmarks/scaling/summarize.py RESULTS.jsonl --device "one NVIDIA H200"
    .venv/bin/python benchmarks/scaling/summarize.py MORE.jsonl --device "one NVIDIA H100" --append

Each results file starts with its teacher row; ``--append`` adds a later session's runs to scaling.json with
their device. A run whose corpus was cut (``--limit``) holds back a different 1,000 sentences: its cosine is
marked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compress.bench.results import results_dir, write_results

OUT = results_dir(str(Path(__file__).resolve().parent))  # benchmarks/results
COMMANDS = """\
# here (CPU): pack the teacher (int8 per row, checked against fp32), the student start and the data
.venv/bin/python benchmarks/scaling/pack.py --out .gpu --corpus ../shared/data/corpus/sentences.txt.gz \\
    --sts ../shared/data/stsb
# on the GPU machine, with .gpu/a and .gpu/b copied to /tmp/w and .gpu/c beside the repo:
python3 benchmarks/scaling/experiment.py --teacher /tmp/w --data .gpu/c --out $OUT
.venv/bin/python benchmarks/scaling/summarize.py $OUT/results.jsonl --device "..."
"""


def tag(rows: list[dict], device: str) -> list[dict]:  # type: ignore[type-arg]
    """Give each run its device and the corpus size its held-back sentences were cut from."""
    corpus = 0
    for row in rows:
        corpus = row.get("corpus_sentences", corpus)
        row.setdefault("device", device)
        row.setdefault("corpus", corpus)
    return rows


def markdown(rows: list[dict]) -> str:  # type: ignore[type-arg]
    teacher = rows[0]
    runs = [r for r in rows if "steps" in r]
    full = teacher["corpus_sentences"]
    devices = ", ".join(dict.fromkeys(r["device"] for r in rows))
    lines = [
        "# Default student: corpus size, epochs and training settings (STS-B dev chooses; test recorded beside)",
        "",
        f"Devices: {devices}. Teacher: all-mpnet-base-v2 (weights packed int8 per row for transfer, run in bf16):",
        f"STS-B dev {teacher['sts_dev']}, test {teacher['sts_test']} (fp32 on CPU: 88.11 / 83.42); it embedded "
        f"{teacher['corpus_sentences']:,} corpus sentences in {teacher['embed_seconds']} s.",
        "Student: all-MiniLM-L6-v2 layers 0,2,3,5 + least-squares 384->768 projection, MSE to the teacher, AdamW "
        "batch 32, warmup 10% then linear decay, bf16 autocast, seed 42. Held-back cosine: 1,000 corpus sentences "
        "never trained on. Runs cut by the device time limit are absent.",
        "",
        "| setting | sentences | epochs | lr | steps | STS dev | held-back cosine | STS test | GPU s | device |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        mark = "*" if r["corpus"] != full else ""
        lines.append(f"| {r['name']} | {r['n']:,} | {r['epochs']} | {r['lr']:g} | {r['steps']:,} | {r['sts_dev']:.2f} "
                     f"| {r['heldback_cosine']:.4f}{mark} | {r['sts_test']:.2f} | {r['seconds']} | {r['device']} |")
    lines += ["", "\\* corpus cut to the first sentences of the same shuffle (`--limit`): the same training "
              "sentences, a different held-back 1,000, so that cosine is not comparable with the others.",
              "", "Reproduce:", "", "```bash", COMMANDS.rstrip(), "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--device", required=True)
    parser.add_argument("--append", action="store_true", help="add to the rows already in scaling.json")
    args = parser.parse_args()
    rows = tag([json.loads(line) for line in args.results.read_text().splitlines() if line.strip()], args.device)
    if args.append:
        old = json.loads((OUT / "scaling.json").read_text())
        rows = tag(old["rows"], old["device"]) + rows
    write_results(OUT, "scaling", {"device": rows[0]["device"], "command": COMMANDS, "rows": rows}, markdown(rows))


if __name__ == "__main__":
    main()
