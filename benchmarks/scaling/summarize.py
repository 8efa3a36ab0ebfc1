"""Turn `experiment.py`'s results.jsonl into benchmarks/results/scaling.{json,md}.

    .venv/bin/python benchmarks/scaling/summarize.py RESULTS.jsonl --device "one NVIDIA H200"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compress.io import write_json_atomic, write_text_atomic

OUT = Path(__file__).resolve().parents[1] / "results"
COMMANDS = """\
# here (CPU): pack the teacher (int8 per row, checked against fp32), the student start and the data
.venv/bin/python benchmarks/scaling/pack.py --out .gpu --corpus ../shared/data/corpus/sentences.txt.gz \\
    --sts ../shared/data/stsb
# on the GPU machine, with .gpu/a and .gpu/b copied to /tmp/w and .gpu/c beside the repo:
python3 benchmarks/scaling/experiment.py --teacher /tmp/w --data .gpu/c --out $OUT
.venv/bin/python benchmarks/scaling/summarize.py $OUT/results.jsonl --device "..."
"""


def markdown(rows: list[dict], device: str) -> str:  # type: ignore[type-arg]
    teacher, runs = rows[0], rows[1:]
    lines = [
        "# Default student: corpus size, epochs and training settings (STS-B dev chooses; test recorded beside)",
        "",
        f"Device: {device}. Teacher: all-mpnet-base-v2 (weights packed int8 per row for transfer, run in bf16):",
        f"STS-B dev {teacher['sts_dev']}, test {teacher['sts_test']} (fp32 on CPU: 88.11 / 83.42); it embedded "
        f"{teacher['corpus_sentences']:,} corpus sentences in {teacher['embed_seconds']} s.",
        "Student: all-MiniLM-L6-v2 layers 0,2,3,5 + least-squares 384->768 projection, MSE to the teacher, AdamW "
        "batch 32, warmup 10% then linear decay, bf16 autocast, seed 42. Held-back cosine: 1,000 corpus sentences "
        "never trained on. Runs cut by the device time limit are absent.",
        "",
        "| setting | sentences | epochs | lr | steps | STS dev | held-back cosine | STS test | GPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(f"| {r['name']} | {r['n']:,} | {r['epochs']} | {r['lr']:g} | {r['steps']:,} | {r['sts_dev']:.2f} "
                     f"| {r['heldback_cosine']:.4f} | {r['sts_test']:.2f} | {r['seconds']} |")
    lines += ["", "Reproduce:", "", "```bash", COMMANDS.rstrip(), "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--device", required=True)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    write_json_atomic(OUT / "scaling.json", {"device": args.device, "command": COMMANDS, "rows": rows})
    write_text_atomic(OUT / "scaling.md", markdown(rows, args.device))


if __name__ == "__main__":
    main()
