from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compress.distill.teacher_cache import CacheKey, cached_embeddings
from tests.conftest import make_sentences

KEY = CacheKey(weights="w", corpus="c", max_seq_length=16, normalize=True)
SENTENCES = [f"sentence number {i}" for i in range(23)]


def fake_encode(batch: list[str]) -> np.ndarray:
    """Deterministic stand-in for a teacher: 4-dim vectors derived from the text."""
    return np.array([[len(s), sum(map(ord, s)) % 97, s.count("1"), 1.0] for s in batch], dtype=np.float32)


def test_computes_then_reuses(tmp_path: Path) -> None:
    first = cached_embeddings(SENTENCES, fake_encode, KEY, tmp_path, chunk_size=5, show_progress=False)
    assert first.shape == (23, 4)
    np.testing.assert_array_equal(first, fake_encode(SENTENCES))

    def forbidden(batch: list[str]) -> np.ndarray:
        raise AssertionError("the cache should have been reused")

    again = cached_embeddings(SENTENCES, forbidden, KEY, tmp_path, chunk_size=5, show_progress=False)
    np.testing.assert_array_equal(again, first)


def test_key_changes_with_every_input() -> None:
    digests = {KEY.digest(), CacheKey("w2", "c", 16, True).digest(), CacheKey("w", "c2", 16, True).digest(),
               CacheKey("w", "c", 32, True).digest(), CacheKey("w", "c", 16, False).digest(),
               CacheKey("w", "c", 16, True, "bf16").digest(), CacheKey("w", "c", 16, True, "fp32", "float16").digest()}
    assert len(digests) == 7


def test_float32_keys_keep_the_names_they_had_before_the_dtype_field() -> None:
    import hashlib

    plain = {"weights": "w", "corpus": "c", "max_seq_length": 16, "normalize": True, "precision": "fp32"}
    assert KEY.digest() == hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:24]


def test_float16_cache_is_half_the_size_and_within_rounding(tmp_path: Path) -> None:
    half_key = CacheKey("w", "c", 16, True, "fp32", "float16")
    full = cached_embeddings(SENTENCES, fake_encode, KEY, tmp_path, chunk_size=5, show_progress=False)
    half = cached_embeddings(SENTENCES, fake_encode, half_key, tmp_path, chunk_size=5, show_progress=False)
    assert half.dtype == np.float16 and full.dtype == np.float32
    (f32,), (f16,) = tmp_path.glob("teacher/*/embeddings.f32"), tmp_path.glob("teacher/*/embeddings.f16")
    assert f16.stat().st_size * 2 == f32.stat().st_size
    np.testing.assert_allclose(half.astype(np.float32), full, rtol=1e-3)
    assert not list(tmp_path.glob("teacher/*/chunks"))  # the chunk files go once the array is whole


def test_resuming_with_another_chunk_size_is_refused(tmp_path: Path) -> None:
    from compress.errors import CompressError

    def failing(batch: list[str]) -> np.ndarray:
        raise RuntimeError("killed")

    calls: list[int] = []

    def first_chunk_only(batch: list[str]) -> np.ndarray:
        if calls:
            raise RuntimeError("killed")
        calls.append(1)
        return fake_encode(batch)

    with pytest.raises(RuntimeError):
        cached_embeddings(SENTENCES, first_chunk_only, KEY, tmp_path, chunk_size=5, show_progress=False)
    with pytest.raises(CompressError, match="chunk_size 5") as info:
        cached_embeddings(SENTENCES, failing, KEY, tmp_path, chunk_size=4, show_progress=False)
    assert "teacher.chunk_size = 5" in str(info.value.hint)


def test_resumes_after_a_failure_midway(tmp_path: Path) -> None:
    seen: list[str] = []

    def failing(batch: list[str]) -> np.ndarray:
        if len(seen) >= 10:
            raise RuntimeError("killed")
        seen.extend(batch)
        return fake_encode(batch)

    with pytest.raises(RuntimeError):
        cached_embeddings(SENTENCES, failing, KEY, tmp_path, chunk_size=5, show_progress=False)
    resumed: list[str] = []

    def counting(batch: list[str]) -> np.ndarray:
        resumed.extend(batch)
        return fake_encode(batch)

    result = cached_embeddings(SENTENCES, counting, KEY, tmp_path, chunk_size=5, show_progress=False)
    assert resumed == SENTENCES[10:]  # the two finished chunks were not embedded again
    np.testing.assert_array_equal(result, fake_encode(SENTENCES))


CHILD = """
import sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_teacher_cache import KEY, SENTENCES, fake_encode
from compress.distill.teacher_cache import cached_embeddings
def slow(batch):
    time.sleep(0.15)
    return fake_encode(batch)
cached_embeddings(SENTENCES, slow, KEY, __import__("pathlib").Path({cache!r}), chunk_size=2, show_progress=False)
"""


def test_survives_kill_9(tmp_path: Path) -> None:
    code = CHILD.format(tests=str(Path(__file__).parent), cache=str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()})
    done = 0
    deadline = time.time() + 60
    while time.time() < deadline:
        done = len(list(tmp_path.glob("teacher/*/chunks/*.npy")))
        if done >= 3:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = len(list(tmp_path.glob("teacher/*/chunks/*.npy")))  # a chunk file on disk is a finished chunk
    assert 3 <= done < 12, "the child should have been killed part-way"
    assert not list(tmp_path.glob("teacher/*/meta.json"))
    assert not list(tmp_path.glob("teacher/*/embeddings.*"))
    resumed: list[str] = []

    def counting(batch: list[str]) -> np.ndarray:
        resumed.extend(batch)
        return fake_encode(batch)

    result = cached_embeddings(SENTENCES, counting, KEY, tmp_path, chunk_size=2, show_progress=False)
    assert resumed == SENTENCES[2 * done:]  # only the chunks the killed run had not finished
    np.testing.assert_array_equal(result, fake_encode(SENTENCES))


def test_bf16_teacher_embeddings_are_cached_apart_and_close_to_fp32(tiny_teacher, tmp_path: Path) -> None:
    from compress.config import Precision
    from compress.distill.teacher_cache import teacher_embeddings

    sentences = make_sentences(40)
    fp32 = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.FP32)
    bf16 = teacher_embeddings(tiny_teacher, sentences, "corpus", tmp_path, 8, 16, False, Precision.BF16)
    assert len(list((tmp_path / "teacher").iterdir())) == 2  # never mixed in one cache
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    assert not np.array_equal(fp32, bf16)
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cosine.min() > 0.99
