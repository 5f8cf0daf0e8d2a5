"""One Milvus collection per index: connecting, the schema, writing and searching it.

The collection holds one row per chunk::

    id          VARCHAR primary key: the chunk id (a hash of document and text)
    doc         VARCHAR  document id            } scalar fields, so --doc and
    date        INT64    date key YYYYMMDD, 0   }  --since/--until run inside
    title, section, start, end, line_start, line_end: where the chunk is cited from
    text        VARCHAR  title, section and text, folded (traditional → simplified,
                         ASCII lower case), through Milvus's jieba analyzer with our
                         domain dictionary and stopwords
    sparse      SPARSE_FLOAT_VECTOR, made from ``text`` by Milvus's BM25 function
    dense       FLOAT_VECTOR, the passage vector of the index's encoder, HNSW / IP

The collection's properties record the encoder and dimension it was filled with, so an
index opened with another encoder is refused before anything is compared.

Every call carries the configured timeout, and every failure of the client library is
turned into a one-line :class:`~qa.errors.BackendError` or
:class:`~qa.errors.IndexUnusableError` that says what to do.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.config import BackendConfig
from qa.errors import BackendError, IndexUnusableError
from qa.retrieval.base import Filter
from qa.retrieval.milvus_support import (
    _DOC_BYTES,
    _DOC_GROUP,
    _ID_BYTES,
    _NAME_BYTES,
    _TEXT_BYTES,
    _UPSERT_BATCH,
    _client_module,
    _clip,
    _locked_elsewhere,
    _quiet_client_logs,
    _token,
    analyzer_params,
    explain,
    expression,
    is_local,
)
from qa.types import Chunk

T = TypeVar("T")
_NO_KEEPALIVE = {"grpc.keepalive_permit_without_calls": False,
                 "grpc.keepalive_time_ms": 2**31 - 1}


class MilvusCollection:
    """The collection of one index, on a milvus-lite file or a server.

    Connecting happens on first use; each call has ``config.milvus_timeout``.

    Args:
        config: The index's backend settings (uri, collection name, timeout, HNSW).
        fold: Folds text the way the index's tokenizer does, before Milvus's analyzer.
    """

    def __init__(self, config: BackendConfig, fold: Callable[[str], str] = lambda s: s) -> None:
        self.config = config
        self.name = config.milvus_collection
        self.fold = fold
        self._client: Any = None
        self._written: set[str] = set()
        self.created = False  # by this object, in this write
        self.checked = False  # against the index's encoder, at load
        self._loaded = False  # into memory, by this object

    # ------------------------------------------------------------------ connecting
    def _call(self, what: Callable[[], T]) -> T:
        pymilvus = _client_module()
        try:
            return what()
        except pymilvus.exceptions.MilvusException as exc:
            raise explain(exc, self.config, self.name) from None
        except Exception as exc:  # gRPC errors reach us unwrapped from some calls
            if type(exc).__module__.startswith(("grpc", "pymilvus")):
                raise explain(exc, self.config, self.name) from None
            raise

    @property
    def client(self) -> Any:
        """The connected ``MilvusClient``.

        Raises:
            BackendError: When the server cannot be reached or refuses the token.
        """
        if self._client is None:
            pymilvus = _client_module()
            _quiet_client_logs()
            uri = self.config.milvus_uri
            if is_local(uri) and not Path(uri).parent.is_dir():
                raise BackendError(f"无法打开 milvus-lite (the directory of {uri} does not "
                                   "exist): create it, or fix --milvus-uri.")
            if is_local(uri) and _locked_elsewhere(Path(uri)):
                raise BackendError(
                    f"milvus-lite 文件被占用 (another process has {uri} open: milvus-lite serves "
                    "one process at a time). Stop that process (a running qa serve?), or put "
                    "the collection on a Milvus server for concurrent use (see README)."
                )
            # milvus-lite serves from this process with grpc's default server settings,
            # which answer the client's keepalive pings on an idle channel (every 10 s) with
            # GOAWAY "too_many_pings" after a minute or so (measured: 90 s yes, 75 s no): a
            # build idle that long while it embeds failed to reconnect. A loopback channel
            # needs no keepalive.
            extra = {"grpc_options": _NO_KEEPALIVE} if is_local(uri) else {}
            self._client = self._call(lambda: pymilvus.MilvusClient(
                uri=uri, token=_token(self.config), timeout=self.config.milvus_timeout,
                **extra))
        return self._client

    def close(self) -> None:
        """Disconnect (and stop this process's milvus-lite engine for the file, if any)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        self._loaded = False
        if is_local(self.config.milvus_uri):
            with contextlib.suppress(ImportError):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.config.milvus_uri)

    @property
    def timeout(self) -> float:
        """Seconds a call may take."""
        return self.config.milvus_timeout

    def exists(self) -> bool:
        """Whether the collection is there."""
        return bool(self._call(lambda: self.client.has_collection(self.name,
                                                                   timeout=self.timeout)))

    def missing(self) -> IndexUnusableError:
        """The error for a collection that is not on the server."""
        return IndexUnusableError(
            f"Milvus 集合不存在 (collection {self.name} is not on {self.config.milvus_uri}: "
            "dropped, or another server). Refill a new one from the index's own vectors: "
            f"qa build --index INDEX --backend milvus --milvus-uri {self.config.milvus_uri} "
            "--milvus-collection NEW_NAME"
        )

    # ------------------------------------------------------------------ the schema
    def create(self, dim: int, encoder: dict[str, Any], terms: Sequence[str],
               stopwords: Sequence[str]) -> None:
        """Create the collection, its BM25 function and both indexes.

        Args:
            dim: Dimension of the passage vectors.
            encoder: ``{"name", "version", "dim"}`` recorded in the collection's properties.
            terms: Domain dictionary words for the jieba analyzer.
            stopwords: Words the analyzer drops (folded).

        Raises:
            BackendError: When a collection of that name exists already, or creating fails.
        """
        pymilvus = _client_module()
        data_type, function, kind = pymilvus.DataType, pymilvus.Function, pymilvus.FunctionType
        if self.exists():
            raise BackendError(
                f"Milvus 集合已存在 (collection {self.name} already exists on "
                f"{self.config.milvus_uri} and this index does not record it): choose another "
                "--milvus-collection, or drop that one if it is not needed."
            )
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", data_type.VARCHAR, is_primary=True, max_length=_ID_BYTES)
        schema.add_field("doc", data_type.VARCHAR, max_length=_DOC_BYTES)
        schema.add_field("date", data_type.INT64)
        schema.add_field("title", data_type.VARCHAR, max_length=_NAME_BYTES)
        schema.add_field("section", data_type.VARCHAR, max_length=_NAME_BYTES)
        for name in ("start", "end", "line_start", "line_end"):
            schema.add_field(name, data_type.INT64)
        schema.add_field("text", data_type.VARCHAR, max_length=_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params=analyzer_params(terms, stopwords))
        schema.add_field("sparse", data_type.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", data_type.FLOAT_VECTOR, dim=dim)
        schema.add_function(function(name="bm25", function_type=kind.BM25,
                                     input_field_names=["text"], output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        index.add_index("dense", index_type="HNSW", metric_type="IP",
                        params={"M": self.config.hnsw_m,
                                "efConstruction": self.config.hnsw_ef_construction})
        properties = {"qa.encoder": str(encoder.get("name")),
                      "qa.encoder_version": str(encoder.get("version")), "qa.dim": str(dim)}
        self._call(lambda: self.client.create_collection(
            self.name, schema=schema, index_params=index, properties=properties,
            consistency_level="Strong", timeout=self.timeout))
        self.created = True

    def check(self, encoder: dict[str, Any]) -> None:
        """Refuse a missing collection, or one filled by another encoder or dimension.

        Raises:
            IndexUnusableError: Naming the difference and the command that rebuilds.
        """
        if not self.exists():
            raise self.missing()
        described = self._call(lambda: self.client.describe_collection(self.name,
                                                                       timeout=self.timeout))
        properties = described.get("properties") or {}
        dims = [f.get("params", {}).get("dim") for f in described.get("fields", [])
                if f.get("name") == "dense"]
        found = (properties.get("qa.encoder"), int(dims[0]) if dims and dims[0] else None)
        wanted = (str(encoder.get("name")), encoder.get("dim"))
        if found != wanted:
            raise IndexUnusableError(
                f"Milvus 集合的编码器不同 (collection {self.name} holds vectors of encoder "
                f"{found[0]!r}, dimension {found[1]}; the index's is {wanted[0]!r}, dimension "
                f"{wanted[1]}). Refill a new one from the index's own vectors: qa build "
                f"--index INDEX --backend milvus --milvus-uri {self.config.milvus_uri} "
                "--milvus-collection NEW_NAME"
            )
        self.load()
        self.checked = True

    def load(self) -> None:
        """Load the collection into memory (once per object): search and query need it.

        A server may have released it, and milvus-lite opens a collection released.
        """
        if not self._loaded:
            self._call(lambda: self.client.load_collection(self.name, timeout=self.timeout))
            self._loaded = True

    def drop(self) -> None:
        """Drop the collection (after a rebuild replaced it)."""
        self._call(lambda: self.client.drop_collection(self.name, timeout=self.timeout))

    def count(self) -> int:
        """Rows in the collection (a strongly consistent count)."""
        rows = self._call(lambda: self.client.query(
            self.name, filter="", output_fields=["count(*)"], timeout=self.timeout))
        return int(rows[0]["count(*)"])

    # ------------------------------------------------------------------ writing
    def rows(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> Iterator[dict[str, Any]]:
        """The collection rows of ``chunks`` with their passage ``vectors``."""
        from qa.index.writer import date_column

        for chunk, vector in zip(chunks, np.asarray(vectors, dtype=np.float32), strict=True):
            yield {
                "id": chunk.id, "doc": chunk.doc, "date": date_column(chunk),
                "title": _clip(chunk.title, _NAME_BYTES),
                "section": _clip(chunk.section, _NAME_BYTES),
                "start": chunk.start, "end": chunk.end, "line_start": chunk.line_start,
                "line_end": chunk.line_end,
                "text": _clip(self.fold(chunk.index_text()), _TEXT_BYTES),
                "dense": vector.tolist(),
            }

    def sync_documents(self, docs: Sequence[str], chunks: Sequence[Chunk],
                       vectors: np.ndarray, held: Mapping[str, Sequence[str]] | None = None
                       ) -> None:
        """Make the collection's chunks of ``docs`` exactly ``chunks``.

        Upserts first, then deletes what those documents no longer have, so a reader never
        sees a document vanish, and the same call again changes nothing (idempotent): a
        write interrupted after this and before its commit is repeated by the next one.
        Called by both backends of an index for one write; the second call is free.

        The stale rows are found by one query per :data:`_DOC_GROUP` documents, before
        the upsert, and deleted by id. (One delete by expression per document cost a scan
        of the collection each, which made a build quadratic.) A collection this object
        created and has not written yet holds nothing, so nothing is looked up; nor are
        the documents in ``held``. (milvus-lite answers a lookup by scanning the collection,
        so without ``held`` one document's write grows with the collection.)

        Args:
            docs: The documents that changed (added, replaced or removed).
            chunks: Their chunks now (none for a removed document).
            vectors: The chunks' passage vectors, one row each.
            held: For some of ``docs``, the ids the collection is known to hold now.
        """
        key = json.dumps(sorted(docs), ensure_ascii=False)
        if key in self._written:
            return
        if self.created and not self._written:
            present: set[str] = set()
        else:
            known = held or {}
            present = {i for d in docs if d in known for i in known[d]}
            present |= self._ids_of([d for d in docs if d not in known])
        keep = {c.id for c in chunks}
        batch: list[dict[str, Any]] = []
        for row in self.rows(chunks, vectors):
            batch.append(row)
            if len(batch) >= _UPSERT_BATCH:
                self._upsert(batch)
                batch = []
        if batch:
            self._upsert(batch)
        stale = sorted(present - keep)
        for start in range(0, len(stale), _UPSERT_BATCH):
            ids = stale[start : start + _UPSERT_BATCH]
            self._call(partial(self.client.delete, self.name, ids=ids, timeout=self.timeout))
        self._written.add(key)

    def _ids_of(self, docs: Sequence[str]) -> set[str]:
        """The ids of every row the collection holds for ``docs``."""
        if not docs:
            return set()
        self.load()
        out: set[str] = set()
        ordered = sorted(docs)
        for start in range(0, len(ordered), _DOC_GROUP):
            group = ordered[start : start + _DOC_GROUP]
            expr = f"doc in [{', '.join(json.dumps(d, ensure_ascii=False) for d in group)}]"
            rows = self._call(partial(self.client.query, self.name, filter=expr,
                                      output_fields=["id"], timeout=self.timeout))
            out.update(str(r["id"]) for r in rows)
        return out

    def _upsert(self, batch: list[dict[str, Any]]) -> None:
        self._call(lambda: self.client.upsert(self.name, batch, timeout=self.timeout))

    # ------------------------------------------------------------------ searching
    def search_text(self, texts: Sequence[str], k: int, where: Filter | None
                    ) -> list[list[tuple[str, float]]]:
        """BM25 over the analyzer's tokens of each (folded) text: ``(id, score)`` best first.

        milvus-lite reports a BM25 hit's distance as the negated score, a server as the
        score; BM25 scores are never negative, so the score is the distance's magnitude.
        """
        found = self._call(lambda: self.client.search(
            self.name, data=[self.fold(t) for t in texts], anns_field="sparse", limit=k,
            filter=expression(where), output_fields=[], timeout=self.timeout,
            search_params={"metric_type": "BM25"}))
        return [[(str(h["id"]), abs(float(h["distance"]))) for h in hits] for hits in found]

    def search_vectors(self, vectors: np.ndarray, k: int, where: Filter | None
                       ) -> list[list[tuple[str, float]]]:
        """Inner product (cosine: the vectors are normalised) over HNSW, best first."""
        data = np.asarray(vectors, dtype=np.float32).tolist()
        ef = max(self.config.hnsw_ef, k)
        found = self._call(lambda: self.client.search(
            self.name, data=data, anns_field="dense", limit=k, filter=expression(where),
            output_fields=[], timeout=self.timeout,
            search_params={"metric_type": "IP", "params": {"ef": ef}}))
        return [[(str(h["id"]), float(h["distance"])) for h in hits] for hits in found]

    def hybrid(self, texts: Sequence[str], vectors: np.ndarray, k: int, where: Filter | None,
               ranker: Any, depth: int) -> list[list[tuple[str, float]]]:
        """Milvus's own ``hybrid_search``: both lists of ``depth`` fused by ``ranker``.

        (Measured against our fusion by ``bench/milvus_parity.py``; the index uses ours.)
        """
        pymilvus = _client_module()
        expr = expression(where)
        out = []
        for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
            requests = [
                pymilvus.AnnSearchRequest(data=[self.fold(text)], anns_field="sparse",
                                          param={"metric_type": "BM25"}, limit=depth, expr=expr),
                pymilvus.AnnSearchRequest(data=[vector.tolist()], anns_field="dense",
                                          param={"metric_type": "IP",
                                                 "params": {"ef": max(self.config.hnsw_ef,
                                                                      depth)}},
                                          limit=depth, expr=expr),
            ]
            out.append(self._hybrid_one(requests, ranker, k))
        return out

    def _hybrid_one(self, requests: list[Any], ranker: Any, k: int) -> list[tuple[str, float]]:
        found = self._call(lambda: self.client.hybrid_search(
            self.name, requests, ranker, limit=k, output_fields=[], timeout=self.timeout))
        return [(str(h["id"]), float(h["distance"])) for h in found[0]]
