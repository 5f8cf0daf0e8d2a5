"""The evaluation harness: score retrieval and answers on a question set.

``qa eval`` and :func:`evaluate` run every question of a set (``EVAL_FORMAT.md``)
through :meth:`QA.search` and :meth:`QA.ask` for each retrieval mode and report
flat metrics (``hybrid/recall@5``, ``bm25/factoid/accuracy``), a compact table,
every failure and, on request, a Markdown report with a recall@k plot. The
metrics themselves are the pure functions of :mod:`qa.evaluation.metrics`.

Example:
    >>> from qa import QA
    >>> from qa.evaluation.evaluate import evaluate, format_table, load_questions
    >>> result = evaluate(QA.load("index"), load_questions("eval/questions.jsonl"))
    >>> print(format_table(result))
    >>> result.metrics["hybrid/recall@5"]
"""

from __future__ import annotations

from qa.evaluation.cases import (
    ASK_K as ASK_K,
)
from qa.evaluation.cases import (
    DEFAULT_MODES as DEFAULT_MODES,
)
from qa.evaluation.cases import (
    FIELDS as FIELDS,
)
from qa.evaluation.cases import (
    MAX_ERRORS_SHOWN as MAX_ERRORS_SHOWN,
)
from qa.evaluation.cases import (
    RANK_CUTOFF as RANK_CUTOFF,
)
from qa.evaluation.cases import (
    RECALL_CUTOFFS as RECALL_CUTOFFS,
)
from qa.evaluation.cases import (
    SPLITS as SPLITS,
)

# The harness in three modules; this one keeps `qa.evaluation.evaluate` importing as before.
from qa.evaluation.cases import (
    TYPES as TYPES,
)
from qa.evaluation.cases import (
    Case as Case,
)
from qa.evaluation.cases import (
    CaseResult as CaseResult,
)
from qa.evaluation.cases import (
    EvalResult as EvalResult,
)
from qa.evaluation.cases import (
    Failure as Failure,
)
from qa.evaluation.cases import (
    QASystem as QASystem,
)
from qa.evaluation.cases import (
    load_questions as load_questions,
)
from qa.evaluation.cases import (
    split_of as split_of,
)
from qa.evaluation.report import (
    cli as cli,
)
from qa.evaluation.report import (
    format_failures as format_failures,
)
from qa.evaluation.report import (
    format_table as format_table,
)
from qa.evaluation.report import (
    kind_rows as kind_rows,
)
from qa.evaluation.report import (
    parse_modes as parse_modes,
)
from qa.evaluation.report import (
    plot_recall as plot_recall,
)
from qa.evaluation.report import (
    split_rows as split_rows,
)
from qa.evaluation.report import (
    write_json as write_json,
)
from qa.evaluation.report import (
    write_report as write_report,
)
from qa.evaluation.running import (
    evaluate as evaluate,
)
from qa.evaluation.running import (
    failure_of as failure_of,
)
from qa.evaluation.running import (
    failures as failures,
)
from qa.evaluation.running import (
    recall_cutoffs as recall_cutoffs,
)
from qa.evaluation.running import (
    run_case as run_case,
)
from qa.evaluation.running import (
    summarize as summarize,
)
