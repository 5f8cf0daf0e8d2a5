"""Adding and removing one document at scale: ``python -m bench.update``.

For each size, synthetic documents (:func:`bench.build.write_documents`, about twenty
chunks each) are built into a local index with the product's :func:`qa.api.build_index`;
random vectors seeded by each text stand in for a model
(:class:`bench.build.TextSeededEncoder`, its time subtracted). Then one 20-chunk document
is added with :func:`qa.api.add_documents` and removed with
:func:`qa.api.remove_documents`, ``--repeat`` times, in this process: the medians are
the figures, with how many chunks each update tokenized (the added document's, plus kept
chunks holding a corpus term the update adds or drops). ``--check`` also builds
the same files afresh and compares every index file with the updated index's.

    python -m bench.update --sizes 100000 [--repeat 3] [--check] [--work DIR]
                           [--json bench/results.json]

``--json`` merges ``{size}/update/add_one_s``, ``{size}/update/remove_one_s`` and the rest
into that file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.build import TextSeededEncoder, write_documents
from bench.report import write_json


def _tokenized_counter() -> tuple[list[int], Callable[[], None]]:
    """Count the chunks each write tokenizes (the product's own function, wrapped)."""
    from qa.index import lexical

    seen: list[int] = []
    real = lexical.tokenize_counts

    def counting(tokenizer: Any, texts: Any, n: int, progress: bool) -> Any:
        seen.append(n)
        return real(tokenizer, texts, n, progress)

    lexical.tokenize_counts = counting
    return seen, lambda: setattr(lexical, "tokenize_counts", real)


def files_of(index: Path) -> dict[str, bytes]:
    """Every file of the committed version but the manifest (which holds build times)."""
    from qa.index.commit import data_dir

    version = data_dir(index)[0]
    return {p.relative_to(version).as_posix(): p.read_bytes() for p in sorted(version.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def measure(size: int, work: Path, repeat: int, check: bool) -> dict[str, float]:
    """Build ``size`` chunks, add and remove one document ``repeat`` times; the figures."""
    from qa.api import add_documents, build_index, remove_documents

    docs, index = work / f"docs-{size}", work / f"index-{size}"
    extra_dir = work / "extra"
    if not extra_dir.is_dir():
        write_documents(extra_dir, 20, seed=99)
        sorted(extra_dir.glob("*.txt"))[0].rename(extra_dir / "added_document.txt")
    extra = extra_dir / "added_document.txt"
    shutil.rmtree(docs, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    write_documents(docs, size, seed=0)
    encoder = TextSeededEncoder(0)
    start = time.perf_counter()
    report = build_index(docs, index, encoder, progress=False, warn=lambda _m: None)
    out = {"build_s": time.perf_counter() - start - encoder.seconds,
           "chunks": float(report.chunks)}
    seen, undo = _tokenized_counter()
    adds, removes, tokenized_add, tokenized_remove = [], [], [], []
    try:
        for _ in range(repeat):
            spent = encoder.seconds
            start = time.perf_counter()
            add_documents([extra], index, encoder, progress=False, warn=lambda _m: None)
            adds.append(time.perf_counter() - start - (encoder.seconds - spent))
            tokenized_add.append(seen[-1])
            start = time.perf_counter()
            remove_documents([extra.stem], index, warn=lambda _m: None)
            removes.append(time.perf_counter() - start)
            tokenized_remove.append(seen[-1])
    finally:
        undo()
    out.update({
        "add_one_s": statistics.median(adds), "remove_one_s": statistics.median(removes),
        "add_one_tokenized": float(statistics.median(tokenized_add)),
        "remove_one_tokenized": float(statistics.median(tokenized_remove)),
        "repeat": float(repeat),
    })
    if check:
        # Added from the corpus directory, so its record names the file a fresh build reads.
        shutil.copy(extra, docs / extra.name)
        add_documents([docs / extra.name], index, encoder, progress=False, warn=lambda _m: None)
        fresh = work / f"fresh-{size}"
        shutil.rmtree(fresh, ignore_errors=True)
        build_index(docs, fresh, encoder, progress=False, warn=lambda _m: None)
        updated, built = files_of(index), files_of(fresh)
        differ = sorted(k for k in set(updated) | set(built) if updated.get(k) != built.get(k))
        out["same_files_as_fresh_build"] = float(not differ)
        if differ:
            print(f"{size}: files that differ from a fresh build: {', '.join(differ)}")
        shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.rmtree(docs, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each size, print the figures (and merge them with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.update",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated chunk counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true",
                        help="compare the updated index with a fresh build, file by file")
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="merge the figures into this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="qa-bench-update-")) if temporary else args.work
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    try:
        for size in sizes:
            row = measure(size, work, args.repeat, args.check)
            print(f"{size}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()), flush=True)
            figures.update({f"{size}/update/{k}": v for k, v in row.items()})
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        merged = json.loads(args.json.read_text(encoding="utf-8")) if args.json.is_file() else {}
        merged.update(figures)
        write_json(merged, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
