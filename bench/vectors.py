"""Dense vectors for synthetic corpora, and the real encoder's throughput.

Embedding a million chunks with the bundled encoder takes days on two cores, so corpus
vectors are synthetic. Two kinds:

* ``composed`` (default): the real encoder embeds each distinct seed sentence once; a chunk's
  vector is a random convex combination (Dirichlet weights) of its own sentences' vectors
  plus Gaussian noise shaped like the real vectors' covariance, then normalised. Chunks that
  share sentences are near each other, as real ones sharing text are, and the queries are the
  real encoder's embeddings of the real evaluation questions.
* ``random``: seeded i.i.d. unit vectors for chunks and queries (no encoder needed; no
  neighbourhood structure, the hardest case for an approximate index).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from bench.synth import SyntheticCorpus
from qa.retrieval.dense import Encoder, normalise

KINDS = ("composed", "random")
NOISE = 0.5  # noise scale relative to the spread of real sentence vectors
BLOCK = 20_000


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32: the product's own :func:`qa.retrieval.dense.normalise`."""
    return normalise(x)


def embed_sentences(encoder: Encoder, sentences: Sequence[str], batch: int = 32) -> np.ndarray:
    """The real encoder's passage vectors of ``sentences``."""
    parts = [encoder.encode_passages(sentences[i : i + batch])
             for i in range(0, len(sentences), batch)]
    return unit_rows(np.concatenate(parts))


def chunk_vectors(
    corpus: SyntheticCorpus, kind: str, sentence_vectors: np.ndarray | None, dim: int,
    seed: int = 0,
) -> np.ndarray:
    """One unit vector per chunk (see the module docstring), deterministic in ``seed``.

    Raises:
        ValueError: For an unknown kind, or ``composed`` without sentence vectors.
    """
    rng = np.random.default_rng(seed + 1)
    n = len(corpus)
    if kind == "random":
        out = np.empty((n, dim), dtype=np.float32)
        for start in range(0, n, BLOCK):
            end = min(start + BLOCK, n)
            out[start:end] = unit_rows(rng.standard_normal((end - start, dim), dtype=np.float32))
        return out
    if kind != "composed" or sentence_vectors is None:
        raise ValueError(f"vector kind {kind!r}: use one of {KINDS} (composed needs sentences)")
    sv = sentence_vectors.astype(np.float32)
    dim = sv.shape[1]
    cov = np.cov(sv.T) + 1e-6 * np.eye(dim)
    shape = np.linalg.cholesky(cov).astype(np.float32).T * np.float32(NOISE)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        lo, hi = corpus.ptr[start], corpus.ptr[end]
        ids = corpus.sent_ids[lo:hi]
        weights = rng.gamma(1.0, size=len(ids)).astype(np.float32)  # Dirichlet(1) once summed
        mixed = np.add.reduceat(sv[ids] * weights[:, None], corpus.ptr[start:end] - lo, axis=0)
        mixed /= np.add.reduceat(weights, corpus.ptr[start:end] - lo)[:, None]
        noise = rng.standard_normal((end - start, dim), dtype=np.float32) @ shape
        out[start:end] = unit_rows(mixed + noise)
    return out


def query_vectors(
    questions: Sequence[str], kind: str, encoder: Encoder | None, dim: int, seed: int = 0
) -> np.ndarray:
    """Query vectors: the real encoder's for ``composed``, random unit vectors otherwise."""
    if kind == "composed" and encoder is not None:
        return unit_rows(np.concatenate(
            [encoder.encode_queries(questions[i : i + 32]) for i in range(0, len(questions), 32)]
        ))
    return unit_rows(np.random.default_rng(seed + 2).standard_normal((len(questions), dim)))


def encoder_throughput(encoder: Encoder, passages: Sequence[str], questions: Sequence[str],
                       batch: int = 32) -> dict[str, float]:
    """The real encoder's passage throughput (batched) and single-query latency."""
    encoder.encode_passages(passages[:2])  # first call loads the model
    start = time.perf_counter()
    for i in range(0, len(passages), batch):
        encoder.encode_passages(passages[i : i + batch])
    per_s = len(passages) / (time.perf_counter() - start)
    times = []
    for question in questions:
        t = time.perf_counter()
        encoder.encode_queries([question])
        times.append((time.perf_counter() - t) * 1000)
    return {
        "encoder/passages_per_s": per_s,
        "encoder/query_p50_ms": float(np.percentile(times, 50)),
        "encoder/query_p95_ms": float(np.percentile(times, 95)),
        "encoder/hours_for_1000000": 1_000_000 / per_s / 3600,
    }
