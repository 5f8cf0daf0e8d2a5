"""Checks on the public evaluation question set (eval/questions.jsonl).

Every case is validated against the seed documents in seeds/ using the matching rules of the
question-set format: whitespace is removed before substring tests, and traditional characters in
answers are converted to simplified (OpenCC ``t2s``) before they are looked up.
"""

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import opencc
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SEEDS = ROOT / "seeds"

FIELDS = {"id", "question", "answers", "evidence", "doc", "type"}
# Optional: the failure kind a case was written to probe (reported per kind by qa eval).
KINDS = ("near_miss", "two_part", "english_entity", "table", "multi_figure")
TYPES = ("factoid", "paraphrase", "crosslingual", "traditional", "list", "multidoc", "unanswerable")
MIN_TOTAL = 170
MIN_PER_DOC = 25
MIN_PER_TYPE = {
    "paraphrase": 25,
    "crosslingual": 20,
    "traditional": 10,
    "list": 10,
    "multidoc": 6,
    "unanswerable": 20,
}
EVIDENCE_LEN = (8, 60)  # characters, whitespace removed
MAX_EVIDENCE = 3
MAX_ANSWER_LEN = 40
REQUIRED = {
    "哪个区布局磁存储芯片？": (["西海岸新区"], "000_b17fa6633de3b991"),
    "青岛2030年的地区生产总值目标是多少？": ([], None),
    "烟台市磁存储芯片产业布局在哪个区？": ([], None),
}

WS = re.compile(r"\s+")
CJK = re.compile(r"[\u3400-\u9fff]")
T2S = opencc.OpenCC("t2s")


def squash(text: str) -> str:
    return WS.sub("", text)


def load_lines() -> list[str]:
    return QUESTIONS.read_text(encoding="utf-8").splitlines()


def load_cases() -> list[dict]:
    return [json.loads(line) for line in load_lines() if line.strip()]


@cache
def seeds() -> dict[str, str]:
    """Map file stem -> full text with whitespace removed."""
    return {p.stem: squash(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}


@cache
def seed_paragraphs() -> dict[str, tuple[str, ...]]:
    """Map file stem -> its non-empty lines (paragraphs), whitespace removed."""
    out = {}
    for p in sorted(SEEDS.glob("*.txt")):
        lines = (squash(line) for line in p.read_text(encoding="utf-8").splitlines())
        out[p.stem] = tuple(line for line in lines if line)
    return out


def in_one_paragraph(needle: str, stem: str) -> bool:
    return any(needle in para for para in seed_paragraphs()[stem])


def stems_containing_paragraph(needle: str) -> set[str]:
    return {stem for stem in seed_paragraphs() if in_one_paragraph(needle, stem)}


CASES = load_cases()
CASE_IDS = [str(c.get("id", f"line{i + 1}")) for i, c in enumerate(CASES)]


def test_file_is_clean_jsonl():
    raw = QUESTIONS.read_bytes()
    assert raw.endswith(b"\n"), "file must end with a newline"
    raw.decode("utf-8")  # must be valid UTF-8
    for n, line in enumerate(load_lines(), 1):
        assert line.strip(), f"line {n} is blank"
        assert "\\u" not in line, f"line {n}: write with ensure_ascii=False"
        assert isinstance(json.loads(line), dict), f"line {n} is not a JSON object"


def test_seeds_present():
    assert len(seeds()) >= 5


def test_ids_unique_and_in_order():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert ids == [f"q{i:03d}" for i in range(1, len(ids) + 1)]


def test_questions_unique():
    qs = [squash(c["question"]) for c in CASES]
    assert len(qs) == len(set(qs)), [q for q, n in Counter(qs).items() if n > 1]


def test_total_count():
    assert len(CASES) >= MIN_TOTAL


@pytest.mark.parametrize("typ,minimum", sorted(MIN_PER_TYPE.items()))
def test_min_per_type(typ, minimum):
    count = sum(c["type"] == typ for c in CASES)
    assert count >= minimum, f"{typ}: {count} < {minimum}"


@pytest.mark.parametrize("stem", sorted(seeds()))
def test_min_per_doc(stem):
    count = sum(c["doc"] == stem for c in CASES)
    assert count >= MIN_PER_DOC, f"{stem}: {count} < {MIN_PER_DOC}"


def test_required_cases_present():
    by_question = {c["question"]: c for c in CASES}
    for question, (answers, doc) in REQUIRED.items():
        assert question in by_question, f"missing required case {question}"
        case = by_question[question]
        assert case["answers"] == answers, question
        assert case["doc"] == doc, question
        if doc is None:
            assert case["type"] == "unanswerable", question
        else:
            assert any("磁存储芯片布局在西海岸新区" in squash(e) for e in case["evidence"])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_case(case):
    # --- shape ---
    assert FIELDS <= set(case) <= FIELDS | {"kind"}, f"fields {sorted(case)}"
    assert case.get("kind", "near_miss") in KINDS, case.get("kind")
    assert isinstance(case["id"], str) and re.fullmatch(r"q\d{3,}", case["id"])
    question = case["question"]
    assert isinstance(question, str) and question.strip() == question and question
    assert isinstance(case["answers"], list) and all(isinstance(a, str) for a in case["answers"])
    assert isinstance(case["evidence"], list) and all(isinstance(e, str) for e in case["evidence"])
    assert case["doc"] is None or isinstance(case["doc"], str)
    typ = case["type"]
    assert typ in TYPES, f"unknown type {typ!r}"

    # --- language of the question ---
    if typ == "crosslingual":
        assert not CJK.search(question), "crosslingual questions must be English only"
        assert re.search(r"[A-Za-z]{3,}", question)
    elif typ == "traditional":
        assert T2S.convert(question) != question, "no traditional characters in question"
    elif CJK.search(question) and typ != "unanswerable":
        assert T2S.convert(question) == question, "simplified question contains traditional chars"
    else:
        assert typ == "unanswerable", "only crosslingual/unanswerable questions may be English"

    if case.get("kind") == "near_miss":
        assert typ == "unanswerable"
    if case.get("kind") == "two_part":
        assert len(case["answers"]) >= 2, "a two-part case lists one answer per part"

    # --- unanswerable <=> empty answers/evidence and null doc ---
    unanswerable = typ == "unanswerable"
    empty = case["answers"] == [] and case["evidence"] == [] and case["doc"] is None
    assert unanswerable == empty, "unanswerable must have answers [] evidence [] doc null"
    if unanswerable:
        return

    # --- answerable cases ---
    stem = case["doc"]
    assert stem in seeds(), f"doc {stem!r} not in seeds/"
    answers = [squash(T2S.convert(a)) for a in case["answers"]]
    evidence = [squash(e) for e in case["evidence"]]
    assert answers and all(answers), "answers must be non-empty strings"
    assert len(set(answers)) == len(answers), "duplicate answers"
    assert all(len(a) <= MAX_ANSWER_LEN for a in answers), "answer too long"
    assert 1 <= len(evidence) <= MAX_EVIDENCE, "need 1-3 evidence strings"
    assert len(set(evidence)) == len(evidence), "duplicate evidence"
    lo, hi = EVIDENCE_LEN
    for e in evidence:
        assert lo <= len(e) <= hi, f"evidence length {len(e)} outside {lo}-{hi}: {e}"

    if typ == "multidoc":
        homes = [stems_containing_paragraph(e) for e in evidence]
        for e, h in zip(evidence, homes, strict=True):
            assert h, f"evidence not found in any single seed paragraph: {e}"
        assert any(stem in h for h in homes), "no evidence string from the named doc"
        assert len(set().union(*homes)) >= 2, "multidoc evidence must span two documents"
        corpus = list(seeds().values())
        assert any(a in text for a in answers for text in corpus), "no answer occurs in any seed"
    else:
        for e in evidence:
            assert in_one_paragraph(e, stem), f"evidence not in a single paragraph of {stem}: {e}"
        assert any(a in seeds()[stem] for a in answers), f"no answer occurs in {stem}"

    # every answerable case must show its answer inside its evidence
    assert any(a in e for a in answers for e in evidence), "no answer appears in the evidence"
    # the gold answer should not simply be the whole question echoed back
    assert not any(a == squash(T2S.convert(question)) for a in answers)
