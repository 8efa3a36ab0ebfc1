"""Pack the teacher, the student's starting point and the data for `experiment.py` on a GPU machine.

A GPU machine here takes at most 64 MiB per call, so the teacher (all-mpnet-base-v2, 438 MB fp32) travels as
per-row int8 weights (1-D tensors in fp16) in two halves, the 4-layer MiniLM student in fp16. The int8 teacher's
embeddings are checked against the original here (cosine printed) before anything travels.

    .venv/bin/python benchmarks/scaling/pack.py --out .gpu --corpus ../shared/data/corpus/sentences.txt.gz \
        --sts ../shared/data/stsb
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from compress.distill.students.pruned import prune_layers
from compress.models import load_sentence_transformer

KEEP = [0, 2, 3, 5]


def quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        t = tensor.detach().float()
        if t.ndim == 2 and t.numel() > 4096:
            scale = t.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127.0
            out[f"{name}::q"] = torch.round(t / scale).to(torch.int8).contiguous()
            out[f"{name}::s"] = scale.to(torch.float32).contiguous()
        else:
            out[name] = t.to(torch.float16).contiguous()
    return out


def dequantize(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = {k: v.float() for k, v in packed.items() if "::" not in k}
    for key in [k for k in packed if k.endswith("::q")]:
        name = key[:-3]
        state[name] = packed[key].float() * packed[f"{name}::s"]
    return state


def split_save(packed: dict[str, torch.Tensor], folders: list[Path]) -> None:
    total = sum(v.numel() * v.element_size() for v in packed.values())
    parts: list[dict[str, torch.Tensor]] = [{} for _ in folders]
    size = 0
    for name, tensor in packed.items():
        index = min(len(folders) - 1, int(size * len(folders) / total))
        parts[index][name] = tensor
        size += tensor.numel() * tensor.element_size()
    for folder, part in zip(folders, parts, strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        save_file(part, str(folder / "teacher.safetensors"))


def check_teacher(teacher, packed, corpus: Path) -> float:  # type: ignore[no-untyped-def]
    with gzip.open(corpus, "rt") as f:
        sentences = [next(f).strip() for _ in range(256)]
    reference = teacher.encode(sentences, convert_to_numpy=True)
    model = teacher[0].auto_model
    original = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(dequantize(packed), strict=False)
    approx = teacher.encode(sentences, convert_to_numpy=True)
    model.load_state_dict(original)
    return float((reference * approx).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(".gpu"))
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--sts", type=Path, required=True)
    args = parser.parse_args()
    teacher = load_sentence_transformer("all-mpnet-base-v2", "cpu", False)
    packed = quantize(teacher[0].auto_model.state_dict())
    cosine = check_teacher(teacher, packed, args.corpus)
    print(f"int8 teacher: mean cosine to the original on 256 corpus sentences {cosine:.5f}")
    split_save(packed, [args.out / "a", args.out / "b"])
    c = args.out / "c"
    c.mkdir(parents=True, exist_ok=True)
    teacher[0].auto_model.config.to_json_file(str(c / "teacher_config.json"))
    teacher.tokenizer.backend_tokenizer.save(str(c / "teacher_tokenizer.json"))
    student = prune_layers(load_sentence_transformer("all-MiniLM-L6-v2", "cpu", False), KEEP)
    bert = student[0].auto_model
    save_file({k: v.half().contiguous() for k, v in bert.state_dict().items()}, str(c / "student.safetensors"))
    bert.config.to_json_file(str(c / "student_config.json"))
    student.tokenizer.backend_tokenizer.save(str(c / "student_tokenizer.json"))
    shutil.copy(args.corpus, c / "sentences.txt.gz")
    for split in ("dev", "test"):
        shutil.copy(args.sts / f"{split}.csv", c / f"sts_{split}.csv")
    (c / "pack.json").write_text(json.dumps({"student_layers": KEEP, "max_seq_length": 128}))
    for f in sorted(args.out.rglob("*")):
        if f.is_file():
            print(f"{f}  {f.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
