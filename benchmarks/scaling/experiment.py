"""Scaling and ablation runs for the default student, on a GPU (inputs packed by `pack.py`).

The default student (all-MiniLM-L6-v2 layers 0,2,3,5 + least-squares 384->768 projection, MSE to the teacher's
normalized embedding, AdamW, linear warmup 10% then decay) is trained from scratch for each setting: corpus size,
epochs, learning rate, length-grouped batches, a frozen word-embedding matrix, in-batch similarity KL. Each run
reports STS-B dev Spearman (used to choose) and held-back cosine to the teacher; STS-B test is recorded beside.
Results go to OUT/results.jsonl line by line, so a run cut short keeps what finished.

Self-contained on purpose: the GPU machine has transformers 5 and sentence-transformers 6, which this package
does not support, so the least-squares projection and the similarity KL here mirror
``compress.distill.students.pretrained.fit_linear_map`` and ``compress.distill.losses.similarity.SimilarityKLLoss``
(same formulas, in torch) rather than importing them.

    python3 benchmarks/scaling/experiment.py --teacher /tmp/w --data .gpu/c --out $OUT
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from scipy.stats import spearmanr
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModel

DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")
MAX_LEN = 128


def load_model(config_path: Path, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    config = AutoConfig.for_model(**json.loads(config_path.read_text()))
    model = AutoModel.from_config(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or [u for u in unexpected if "pooler" not in u]:
        raise SystemExit(f"state mismatch: missing {missing} unexpected {unexpected}")
    return model.to(DEV)


def teacher_state(folders: list[Path]) -> dict[str, torch.Tensor]:
    packed: dict[str, torch.Tensor] = {}
    for folder in folders:
        packed.update(load_file(str(folder / "teacher.safetensors")))
    state = {k: v.float() for k, v in packed.items() if "::" not in k}
    for key in [k for k in packed if k.endswith("::q")]:
        state[key[:-3]] = packed[key].float() * packed[f"{key[:-3]}::s"]
    return state


class Encoded:
    def __init__(self, tokenizer: Tokenizer, sentences: list[str]) -> None:
        tokenizer.enable_truncation(MAX_LEN)
        tokenizer.no_padding()
        self.ids = [e.ids for e in tokenizer.encode_batch(sentences)]
        self.pad = tokenizer.token_to_id("<pad>") or tokenizer.token_to_id("[PAD]") or 0

    def batch(self, index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(self.ids[i]) for i in index)
        ids = torch.full((len(index), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(index), width), dtype=torch.long)
        for row, i in enumerate(index):
            ids[row, :len(self.ids[i])] = torch.tensor(self.ids[i])
            mask[row, :len(self.ids[i])] = 1
        return ids.to(DEV, non_blocking=True), mask.to(DEV, non_blocking=True)


def pooled(model: torch.nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    m = mask.unsqueeze(-1).float()
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


@torch.no_grad()
def embed(model: torch.nn.Module, enc: Encoded, index: list[int], proj: torch.nn.Module | None = None,
          batch: int = 512) -> torch.Tensor:
    model.eval()
    order = sorted(index, key=lambda i: len(enc.ids[i]))
    out = torch.empty((len(index), 0), device=DEV)
    where = {i: n for n, i in enumerate(index)}
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        with torch.autocast(DEV.type, dtype=torch.bfloat16):
            vec = pooled(model, *enc.batch(chunk))
            vec = proj(vec).float() if proj is not None else vec
        vec = F.normalize(vec.float(), dim=-1)
        if out.shape[1] == 0:
            out = torch.empty((len(index), vec.shape[1]), device=DEV)
        out[torch.tensor([where[i] for i in chunk], device=DEV)] = vec
    return out


def read_sts(path: Path) -> tuple[list[str], list[str], list[float]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["sentence1"] for r in rows], [r["sentence2"] for r in rows], [float(r["score"]) for r in rows]


def sts_score(model, tokenizer, sts, proj=None) -> float:  # type: ignore[no-untyped-def]
    a, b, gold = sts
    enc = Encoded(tokenizer, a + b)
    vec = embed(model, enc, list(range(len(a) + len(b))), proj)
    cos = (vec[:len(a)] * vec[len(a):]).sum(1).cpu().numpy()
    return float(100 * spearmanr(cos, gold).correlation)


def batches(n: int, size: int, epoch: int, lengths: list[int] | None) -> list[list[int]]:
    rng = random.Random(1000 + epoch)
    order = list(range(n))
    rng.shuffle(order)
    if lengths is None:
        return [order[i:i + size] for i in range(0, n, size)]
    mega = size * 50
    out = []
    for m in range(0, n, mega):
        group = sorted(order[m:m + mega], key=lambda i: lengths[i])
        out += [group[i:i + size] for i in range(0, len(group), size)]
    rng.shuffle(out)
    return out


def similarity_kl(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    eye = torch.eye(len(student), dtype=torch.bool, device=student.device)
    s = (student @ student.T / t).masked_fill(eye, -1e4)
    q = (teacher @ teacher.T / t).masked_fill(eye, -1e4)
    return F.kl_div(F.log_softmax(s, -1), F.log_softmax(q, -1), log_target=True, reduction="batchmean") * t * t


def train_run(setting: dict, ctx: dict) -> dict:  # type: ignore[type-arg]
    torch.manual_seed(42)
    student = load_model(ctx["data"] / "student_config.json",
                         {k: v.float() for k, v in ctx["student_state"].items()})
    enc, targets, n = ctx["s_enc"], ctx["targets"], setting["n"]
    fit = list(range(min(4096, n)))
    with torch.no_grad():
        raw = []
        for start in range(0, len(fit), 512):
            with torch.autocast(DEV.type, dtype=torch.bfloat16):
                raw.append(pooled(student.eval(), *enc.batch(fit[start:start + 512])).float())
        x = torch.cat(raw).double()
        x1 = torch.cat([x, torch.ones(len(x), 1, device=DEV, dtype=torch.float64)], 1)
        sol = torch.linalg.solve(x1.T @ x1 + 1e-3 * torch.eye(x1.shape[1], device=DEV, dtype=torch.float64),
                                 x1.T @ targets[fit].double())
    proj = torch.nn.Linear(x.shape[1], targets.shape[1]).to(DEV)
    with torch.no_grad():
        proj.weight.copy_(sol[:-1].T.float())
        proj.bias.copy_(sol[-1].float())
    if setting.get("freeze_embeddings"):
        student.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in [*student.parameters(), *proj.parameters()] if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    rest = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=setting["lr"], fused=DEV.type == "cuda")
    size, epochs = setting.get("batch", 32), setting["epochs"]
    lengths = ctx["lengths"] if setting.get("group") else None
    plan = [b for e in range(epochs) for b in batches(n, size, e, lengths)]
    warm = max(1, int(0.1 * len(plan)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (len(plan) - s) / (len(plan) - warm)))
    start = time.perf_counter()
    student.train()
    for index in plan:
        ids, mask = enc.batch(index)
        with torch.autocast(DEV.type, dtype=torch.bfloat16):
            out = F.normalize(proj(pooled(student, ids, mask)).float(), dim=-1)
        target = targets[torch.tensor(index, device=DEV)]
        loss = F.mse_loss(out, target)
        if setting.get("similarity"):
            loss = loss + setting["similarity"] * similarity_kl(out, target, setting.get("temperature", 0.05))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    seconds = time.perf_counter() - start
    val = ctx["val_index"]
    cos = float((embed(student, enc, val, proj) * targets[torch.tensor(val, device=DEV)]).sum(1).mean())
    tok = ctx["s_tok"]
    return {**setting, "steps": len(plan), "seconds": round(seconds, 1), "heldback_cosine": round(cos, 4),
            "sts_dev": round(sts_score(student, tok, ctx["dev"], proj), 2),
            "sts_test": round(sts_score(student, tok, ctx["test"], proj), 2)}


SETTINGS = [
    {"name": "default (30k, 1 epoch)", "n": 30000, "epochs": 1, "lr": 1e-4},
    {"name": "length-grouped batches", "n": 30000, "epochs": 1, "lr": 1e-4, "group": True},
    {"name": "frozen word embeddings", "n": 30000, "epochs": 1, "lr": 1e-4, "freeze_embeddings": True},
    {"name": "2 epochs", "n": 30000, "epochs": 2, "lr": 1e-4},
    {"name": "60k", "n": 60000, "epochs": 1, "lr": 1e-4},
    {"name": "lr 2e-4", "n": 30000, "epochs": 1, "lr": 2e-4},
    {"name": "+ similarity KL 1.0", "n": 30000, "epochs": 1, "lr": 1e-4, "similarity": 1.0},
    {"name": "60k, 2 epochs", "n": 60000, "epochs": 2, "lr": 1e-4},
    {"name": "90k", "n": 90000, "epochs": 1, "lr": 1e-4},
    {"name": "60k grouped + frozen", "n": 60000, "epochs": 1, "lr": 1e-4, "group": True, "freeze_embeddings": True},
    {"name": "120k", "n": 120000, "epochs": 1, "lr": 1e-4},
    {"name": "all (~380k)", "n": -1, "epochs": 1, "lr": 1e-4},
    {"name": "all, 3 epochs", "n": -1, "epochs": 3, "lr": 1e-4},
    # session 4: what to buy with the ~19 CPU minutes left in the 60-minute budget (+7 min each on the CPU)
    {"name": "60k, 3 epochs", "n": 60000, "epochs": 3, "lr": 1e-4},
    {"name": "75k, 2 epochs", "n": 75000, "epochs": 2, "lr": 1e-4},
    {"name": "90k, 2 epochs", "n": 90000, "epochs": 2, "lr": 1e-4},
    {"name": "60k, 4 epochs", "n": 60000, "epochs": 4, "lr": 1e-4},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=0, help="smoke test: corpus lines and n cap")
    parser.add_argument("--only", type=str, default="", help="comma-separated setting indexes")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with gzip.open(args.data / "sentences.txt.gz", "rt", encoding="utf-8") as f:
        corpus = [line.strip() for line in f if line.strip()]
    random.Random(42).shuffle(corpus)
    if args.limit:
        corpus = corpus[:args.limit]
    val_index = list(range(len(corpus) - 1000, len(corpus)))
    teacher = load_model(args.data / "teacher_config.json", teacher_state([args.teacher / "a", args.teacher / "b"]))
    t_tok = Tokenizer.from_file(str(args.data / "teacher_tokenizer.json"))
    s_tok = Tokenizer.from_file(str(args.data / "student_tokenizer.json"))
    dev, test = read_sts(args.data / "sts_dev.csv"), read_sts(args.data / "sts_test.csv")
    with (args.out / "results.jsonl").open("a") as log:
        teacher_row = {"name": "teacher (int8-packed mpnet, bf16)", "sts_dev": round(sts_score(teacher, t_tok, dev), 2),
                       "sts_test": round(sts_score(teacher, t_tok, test), 2)}
        t1 = time.perf_counter()
        targets = embed(teacher, Encoded(t_tok, corpus), list(range(len(corpus))), batch=1024)
        teacher_row["corpus_sentences"] = len(corpus)
        teacher_row["embed_seconds"] = round(time.perf_counter() - t1, 1)
        print(json.dumps(teacher_row), flush=True)
        log.write(json.dumps(teacher_row) + "\n")
        del teacher
        torch.cuda.empty_cache()
        s_enc = Encoded(s_tok, corpus)
        ctx = {"data": args.data, "student_state": load_file(str(args.data / "student.safetensors")), "s_enc": s_enc,
               "targets": targets, "val_index": val_index, "lengths": [len(i) for i in s_enc.ids], "s_tok": s_tok,
               "dev": dev, "test": test}
        chosen = [SETTINGS[int(i)] for i in args.only.split(",")] if args.only else SETTINGS
        for setting in chosen:
            setting = dict(setting)
            cap = len(corpus) - 1000
            setting["n"] = cap if setting["n"] < 0 else min(setting["n"], cap)
            row = train_run(setting, ctx)
            row["elapsed_total"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)
            log.write(json.dumps(row) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
