"""Write a synthetic corpus as a complete index, so the product's ``QA.load`` opens it.

Every file an index built by ``qa build`` has is written by the same function
(:func:`qa.index.writer.write_index_files`) from the synthetic corpus: the chunk store and its
date column, the folded text, ``docs.jsonl``, ``terms.json``, the passage vectors, BM25 and
FAISS. Only ``sources/`` (the documents' texts, read by updates and never at query time) is
left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.synth import CHUNKS_PER_DOC, SyntheticCorpus
from qa.config import Settings
from qa.index.records import DocRecord
from qa.index.store import finish_manifest
from qa.index.writer import write_index_files
from qa.retrieval.base import Retriever
from qa.retrieval.dense import DenseIndex
from qa.retrieval.faiss import FaissRetriever
from qa.tokens.tokenize import Tokenizer


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
    dense: DenseIndex, vectors: np.ndarray, encoder: dict[str, object], seed: int,
) -> None:
    """Write every index file for ``corpus`` into ``directory``, the manifest last.

    ``lexical`` is the built lexical backend (it writes its own files).
    """
    settings = Settings().to_dict()
    settings["dense"]["encoder"] = encoder["name"]
    fields = write_index_files(
        directory, corpus.chunks(), records(corpus), tokenizer, vectors,
        {"lexical": lexical, "semantic": FaissRetriever(index=dense)},
        {"encoder": encoder, "settings": settings,
         "corpus": {"synthetic": True, "chunks": len(corpus), "seed": seed}},
    )
    finish_manifest(directory, fields)
