"""Updates proportional to the change: what an add or remove recomputes, and that it is exact.

The update path keeps term counts (:class:`qa.tokens.terms.TermCounts`) and per-chunk token
counts, and re-tokenizes only chunks holding a corpus term the update adds or drops
(:mod:`qa.index.lexical`). These tests pin the three facts that make that exact, then run
real updates on made-up documents whose enumerations create and drop corpus terms in
*other* documents, and compare every file with a fresh build.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pytest

from qa import QA
from qa.api import add_documents, build_index, remove_documents
from qa.config import TokenizerConfig
from qa.index import lexical
from qa.index.commit import data_dir
from qa.index.store import MANIFEST
from qa.retrieval.bm25_counts import ChunkCounts
from qa.tokens.terms import TermCounts, corpus_terms
from qa.tokens.tokenize import PAD_MIN, Tokenizer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


class HashEncoder:
    """Unit vectors from each text's sha256: deterministic across processes, no model."""

    name, version, dim = "hash-test", "1", 8

    def _encode(self, texts):
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    encode_queries = encode_passages = _encode


def files(index: Path) -> dict[str, bytes]:
    version = data_dir(index)[0]
    return {p.relative_to(version).as_posix(): p.read_bytes() for p in sorted(version.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


# Made-up documents: "海星推进器" is an enumeration item of A and B and occurs in C's prose,
# so it is a corpus term once two of them are indexed, and C's tokens depend on A and B.
DOCS = {
    "a": "第一章 总体要求\n\n重点发展智能装备、海星推进器、深海探测仪等产业，打造“蓝色引擎”。\n",
    "b": "第二章 重点任务\n\n支持船舶配套、海星推进器、港口机械等领域，建设“双碳园区”。\n",
    "c": "第三章 项目\n\n本区今年引进海星推进器项目三个，总投资12亿元，“蓝色引擎”占一半。\n",
    "d": "第四章 保障\n\n设立专项资金，对深海探测仪、智能装备等首台套产品给予奖励。\n",
}


def write(folder: Path, names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.txt"):
        if path.stem not in names:
            path.unlink()
    for name in names:
        (folder / f"{name}.txt").write_text(DOCS[name], encoding="utf-8")


# ------------------------------------------------------------------ the facts behind it
def test_term_counts_follow_any_sequence_of_updates() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    pieces = [t[i : i + 2500] for t in texts for i in range(0, len(t), 2500)]
    rng = random.Random(7)
    held: list[int] = []
    counts = TermCounts()
    for _ in range(30):
        if held and (rng.random() < 0.4 or len(held) == len(pieces)):
            gone = held.pop(rng.randrange(len(held)))
            counts.update(removed=[pieces[gone]])
        else:
            new = rng.choice([i for i in range(len(pieces)) if i not in held])
            counts.update(added=[pieces[new]], others=lambda: [pieces[i] for i in held])
            held.append(new)
        assert counts.to_dict() == TermCounts.of(pieces[i] for i in held).to_dict()
    assert counts.terms() == corpus_terms(pieces[i] for i in held)
    assert TermCounts.from_dict(counts.to_dict()).to_dict() == counts.to_dict()


def test_a_corpus_term_changes_only_the_texts_that_hold_it() -> None:
    config = TokenizerConfig()
    without = Tokenizer(config, corpus=["链主企业"])
    added = Tokenizer(config, corpus=["链主企业", "海星推进器"])
    assert without.dictionary_total() == added.dictionary_total() == PAD_MIN
    texts = [p.read_text(encoding="utf-8")[:3000] for p in sorted(SEEDS.glob("*.txt"))]
    for text in texts:
        assert "海星推进器" not in text
        assert added.tokenize(text) == without.tokenize(text)
    assert "海星推进器" in added.tokenize("引进海星推进器项目")
    assert "海星推进器" not in without.tokenize("引进海星推进器项目")


def test_counts_are_canonical_whatever_their_table() -> None:
    tokens = [["芯片", "存储", "芯片"], ["新区", "芯片"], []]
    direct = ChunkCounts.of_tokens(tokens).canonical()
    # The same rows assembled from an unrelated, larger table, then cut and joined.
    other = ChunkCounts.of_tokens([["无关", "新区", "存储"], *tokens])
    joined = ChunkCounts.concat([other.rows(1, 2), ChunkCounts.of_tokens(tokens[1:])])
    again = joined.canonical()
    assert again.vocab == direct.vocab == ["芯片", "存储", "新区"]
    for name in ("ptr", "terms", "tf", "lengths"):
        assert np.array_equal(getattr(again, name), getattr(direct, name)), name


# ------------------------------------------------------------------ real updates
@pytest.fixture()
def tokenized(monkeypatch) -> list[int]:
    """How many chunks each write tokenizes (the real function, counted)."""
    seen: list[int] = []
    real = lexical.tokenize_counts

    def counting(tokenizer, texts, n, progress):
        seen.append(n)
        return real(tokenizer, texts, n, progress)

    monkeypatch.setattr(lexical, "tokenize_counts", counting)
    return seen


def expected(before: list[str], index: Path, new_docs: set[str]) -> int:
    """Chunks a write must tokenize: the new documents', and kept ones holding a changed term."""
    qa = QA.load(index, HashEncoder())
    delta = set(before) ^ set(qa.tokenizer.corpus or [])
    return sum(1 for c in qa.chunks
               if c.doc in new_docs or any(t in "".join(c.text.split()) for t in delta))


def corpus_of(index: Path) -> list[str]:
    return QA.load(index, HashEncoder()).tokenizer.corpus or []


def test_updates_tokenize_only_what_they_touch_and_equal_a_fresh_build(tmp_path, tokenized):
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    write(folder, "cd")
    build_index(folder, index, encoder, progress=False)
    assert tokenized == [len(QA.load(index, encoder).chunks)]
    assert "海星推进器" not in corpus_of(index)
    write(folder, "abcd")
    before = corpus_of(index)
    add_documents([folder / "b.txt"], index, encoder, progress=False)
    # b itself, and the chunk of c that holds its new corpus term 海星推进器.
    assert "海星推进器" in corpus_of(index)
    assert tokenized[-1] == expected(before, index, {"b"})
    assert 0 < tokenized[-1] < len(QA.load(index, encoder).chunks)
    steps = [
        (lambda: add_documents([folder / "a.txt"], index, encoder, progress=False), {"a"}),
        (lambda: remove_documents(["a", "b"], index), set()),  # drops the term: c is cut again
        (lambda: add_documents([folder / "a.txt"], index, encoder, progress=False), {"a"}),
        (lambda: remove_documents(["d"], index), set()),
        (lambda: add_documents([folder], index, encoder, progress=False), {"b", "d"}),
    ]
    for step, new in steps:
        before = corpus_of(index)
        step()
        assert tokenized[-1] == expected(before, index, new)
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    assert files(index) == files(fresh)
    updated, rebuilt = QA.load(index, encoder), QA.load(fresh, encoder)
    for question in ("海星推进器项目有几个？", "蓝色引擎", "深海探测仪"):
        for mode in ("bm25", "dense", "hybrid"):
            assert [(h.chunk_id, h.score) for h in updated.search(question, k=5, mode=mode)] \
                == [(h.chunk_id, h.score) for h in rebuilt.search(question, k=5, mode=mode)]


def test_removing_a_document_that_changes_no_term_tokenizes_nothing(tmp_path, tokenized):
    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    write(folder, "abc")
    build_index(folder, index, encoder, progress=False)
    before = corpus_of(index)
    remove_documents(["c"], index)
    # c lists nothing and quotes only what a quotes too: the dictionary stays as it was.
    assert corpus_of(index) == before
    assert tokenized[-1] == 0
    write(folder, "ab")
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    assert files(index) == files(fresh)


def test_an_index_without_counts_is_read_and_its_first_update_catches_up(tmp_path):
    """A format-6 index (terms as one list, no counts): it answers, and an add upgrades it."""
    import json

    from qa.index.commit import checksum, read_pointer
    from qa.index.store import TERM_COUNTS, TERMS
    from qa.retrieval.bm25_counts import FILES as COUNT_FILES
    from qa.tokens.terms import merge_terms

    encoder, folder, index = HashEncoder(), tmp_path / "docs", tmp_path / "index"
    write(folder, "abc")
    build_index(folder, index, encoder, progress=False)
    version = index / read_pointer(index)[0]
    manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    stored = json.loads((version / TERMS).read_text(encoding="utf-8"))
    legacy = list(merge_terms([stored["terms"], stored["corpus"]]))
    (version / TERMS).write_text(json.dumps(legacy, ensure_ascii=False), encoding="utf-8")
    for name in (TERM_COUNTS, *COUNT_FILES):
        (version / name).unlink()
        del manifest["files"][name], manifest["checksums"][name]
    manifest["files"][TERMS] = (version / TERMS).stat().st_size
    manifest["checksums"][TERMS] = checksum(version / TERMS)
    manifest["format_version"] = 6
    manifest["tokenizer"]["dictionary_hash"] = Tokenizer.from_stored(
        TokenizerConfig(), legacy).dictionary_hash()
    (version / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (index / "CURRENT").write_text(f"{version.name} {checksum(version / MANIFEST)}\n",
                                   encoding="ascii")
    old = QA.load(index, encoder)
    assert old.tokenizer.corpus is None
    assert old.search("蓝色引擎", k=1, mode="bm25")[0].doc in {"a", "c"}
    write(folder, "abcd")
    add_documents([folder / "d.txt"], index, encoder, progress=False)
    fresh = tmp_path / "fresh"
    build_index(folder, fresh, encoder, progress=False, rebuild=True)
    assert files(index) == files(fresh)
