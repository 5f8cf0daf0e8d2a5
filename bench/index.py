"""Write a synthetic corpus as a complete index, so the product's ``QA.load`` opens it.

Every file an index built by ``qa build`` has is written by the same function
(:func:`qa.index.writer.write_index_files`) from the synthetic corpus: the chunk store and its
date column, the folded text, ``docs.jsonl``, ``terms.json``, the passage vectors, BM25,
FAISS and the sentence table. Only ``sources/`` (the documents' texts, read by updates and
never at query time) is left out. A synthetic
chunk's sentences are the seed sentences it was made of, each with the vector of that seed
sentence, so the sentence table has the shape and size of a real one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.synth import CHUNKS_PER_DOC, SyntheticCorpus
from bench.vectors import unit_rows
from qa.config import Settings
from qa.index.records import DocRecord
from qa.index.store import finish_manifest
from qa.index.writer import write_index_files
from qa.retrieval.base import Retriever
from qa.retrieval.dense import DenseIndex
from qa.retrieval.faiss import FaissRetriever
from qa.tokens.tokenize import Tokenizer
from qa.types import SentenceTable


def sentence_table(corpus: SyntheticCorpus, vectors: np.ndarray) -> SentenceTable:
    """Each chunk's seed sentences as spans in its text, pointing at the seed vectors."""
    lengths = np.array([len(s) for s in corpus.seeds.sentences], dtype=np.int64)
    lens = lengths[corpus.sent_ids]
    ends = np.cumsum(lens)
    starts = ends - lens
    base = np.repeat(starts[corpus.ptr[:-1]], np.diff(corpus.ptr))
    spans = np.stack([starts - base, ends - base], axis=1).astype(np.int32)
    return SentenceTable(
        ptr=corpus.ptr.astype(np.int64), spans=spans, rows=corpus.sent_ids.astype(np.int32),
        vectors=vectors.astype(np.float16),
    )


def records(corpus: SyntheticCorpus) -> list[dict[str, object]]:
    """One ``docs.jsonl`` record per synthetic document (``CHUNKS_PER_DOC`` rows each)."""
    n = len(corpus)
    out = []
    for start in range(0, n, CHUNKS_PER_DOC):
        doc = corpus.doc_id(start)
        title = corpus.seeds.heads[corpus.heads[start]][0]
        out.append(DocRecord(
            doc=doc, title=title, date=None, format="txt",
            chunks=min(CHUNKS_PER_DOC, n - start), path=f"{doc}.txt", source="", sha256="",
        ).to_dict())
    return out


def write_index(
    directory: Path, corpus: SyntheticCorpus, tokenizer: Tokenizer, lexical: Retriever,
    dense: DenseIndex, vectors: np.ndarray, sentence_vectors: np.ndarray | None,
    encoder: dict[str, object], seed: int,
) -> None:
    """Write every index file for ``corpus`` into ``directory``, the manifest last.

    ``lexical`` is the built lexical backend (it writes its own files);
    ``sentence_vectors`` are the seed sentences' real vectors (``None``: seeded random ones).
    """
    if sentence_vectors is None:
        rng = np.random.default_rng(seed + 3)
        shape = (len(corpus.seeds.sentences), vectors.shape[1])
        sentence_vectors = unit_rows(rng.standard_normal(shape, dtype=np.float32))
    settings = Settings().to_dict()
    settings["dense"]["encoder"] = encoder["name"]
    fields = write_index_files(
        directory, corpus.chunks(), records(corpus), tokenizer, vectors,
        {"lexical": lexical, "semantic": FaissRetriever(index=dense)},
        sentence_table(corpus, sentence_vectors),
        {"encoder": encoder, "settings": settings,
         "corpus": {"synthetic": True, "chunks": len(corpus), "seed": seed}},
    )
    finish_manifest(directory, fields)
