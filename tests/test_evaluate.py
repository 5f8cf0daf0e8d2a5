"""The harness: question-file validation, and evaluate() on a fake QA with known answers."""

import json
from argparse import Namespace
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.evaluation.evaluate import (
    Case,
    evaluate,
    failures,
    format_failures,
    format_table,
    load_questions,
    parse_modes,
    split_of,
    write_json,
    write_report,
)
from qa.types import Answer, Hit

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"

GOOD = {"id": "q1", "question": "哪个区布局磁存储芯片？", "answers": ["西海岸新区"],
        "evidence": ["磁存储芯片布局在西海岸新区"], "doc": "000_x", "type": "factoid"}
NONE = {"id": "q2", "question": "青岛2030年的地区生产总值目标是多少？", "answers": [],
        "evidence": [], "doc": None, "type": "unanswerable"}


def write_lines(path: Path, lines: list) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                     for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- load_questions


def test_load_questions_reads_cases(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", [GOOD, "", NONE])  # a blank line is skipped
    cases = load_questions(path)
    assert [c.id for c in cases] == ["q1", "q2"]
    assert cases[0] == Case("q1", "哪个区布局磁存储芯片？", ("西海岸新区",),
                            ("磁存储芯片布局在西海岸新区",), "000_x", "factoid", 1)
    assert cases[0].kind == "" and cases[0].split in ("tune", "check")
    assert cases[1].line == 3 and not cases[1].answerable and cases[1].doc is None


def test_load_questions_reads_the_optional_kind(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", [GOOD | {"kind": "near_miss"}])
    assert load_questions(path)[0].kind == "near_miss"


def test_split_is_fixed_by_id_and_halves_the_set():
    assert split_of("q001") == split_of("q001")
    ids = [f"q{i:03d}" for i in range(1, 501)]
    tune = sum(split_of(i) == "tune" for i in ids)
    assert 200 < tune < 300  # about half each, whatever the ids


def test_load_questions_accepts_a_bom(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode("utf-8") + b"\n")
    assert [c.id for c in load_questions(path)] == ["q1"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "q3", "question": ', "q.jsonl:2: invalid JSON"),
        ('["a list"]', "q.jsonl:2: expected a JSON object, got list"),
        ({k: v for k, v in GOOD.items() if k != "evidence"} | {"id": "q3"},
         "q.jsonl:2: missing field(s) evidence"),
        (GOOD | {"id": "q3", "type": "trivia"}, "q.jsonl:2: type 'trivia' is not one of"),
        (GOOD | {"id": "q3", "answers": "西海岸新区"}, "q.jsonl:2: answers must be a list"),
        (GOOD | {"id": "q3", "evidence": [1]}, "q.jsonl:2: evidence must be a list of strings"),
        (GOOD | {"id": "q3", "question": "  "}, "q.jsonl:2: question must be a non-empty"),
        (GOOD | {"id": 3}, "q.jsonl:2: id must be a non-empty string"),
        (GOOD | {"id": "q3", "doc": 5}, "q.jsonl:2: doc must be a string or null"),
        (GOOD | {"id": "q3", "evidence": [""]}, "q.jsonl:2: evidence holds an empty string"),
        (NONE | {"id": "q3", "answers": ["x"]}, "q.jsonl:2: an unanswerable case must have"),
        (GOOD | {"id": "q3", "answers": []}, "q.jsonl:2: a factoid case needs at least one"),
        (GOOD, "q.jsonl:2: duplicate id 'q1' (first on line 1)"),
    ],
)
def test_load_questions_names_file_line_and_problem(tmp_path, line, message):
    path = write_lines(tmp_path / "q.jsonl", [GOOD, line])
    with pytest.raises(QAError) as info:
        load_questions(path)
    assert message in str(info.value)


def test_load_questions_reports_every_bad_line(tmp_path):
    path = write_lines(tmp_path / "q.jsonl", ["{bad", GOOD, GOOD | {"type": "x", "id": "z"}])
    with pytest.raises(QAError) as info:
        load_questions(path)
    text = str(info.value)
    assert "2 problems" in text and "q.jsonl:1:" in text and "q.jsonl:3:" in text


def test_load_questions_not_utf8(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + "{}".encode("gbk") + b"\xff\xfe\n")
    with pytest.raises(QAError, match=r"q\.jsonl:2: not UTF-8"):
        load_questions(path)


def test_load_questions_missing_and_empty_file(tmp_path):
    with pytest.raises(QAError, match="nope.jsonl: cannot read"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(QAError, match="empty.jsonl: no questions"):
        load_questions(tmp_path / "empty.jsonl")


def test_parse_modes():
    assert parse_modes("hybrid, bm25,hybrid") == ("hybrid", "bm25")
    with pytest.raises(QAError, match="unknown mode"):
        parse_modes("hybrid,sparse")
    with pytest.raises(QAError, match="none given"):
        parse_modes(" , ")


@pytest.mark.skipif(not QUESTIONS.exists(), reason="eval/questions.jsonl not written yet")
def test_project_question_set_loads():
    cases = load_questions(QUESTIONS)
    assert len({c.id for c in cases}) == len(cases) > 0


# ---------------------------------------------------------------- evaluate on a fake QA

E1, E2, E3 = "磁存储芯片布局在西海岸新区", "新一代信息技术产业规模达到2000亿元", "布局40个细分赛道"


def hit(text: str, rank: int, doc: str = "d", score: float = 1.0) -> Hit:
    return Hit(text=text, doc=doc, title="t", section="", start=0, end=len(text),
               score=score, line_start=rank, line_end=rank, rank=rank)


FILLER = [hit(f"无关段落{i}", i) for i in range(1, 11)]


def ranked(evidence_at: int | None, evidence: str) -> list[Hit]:
    """Ten hits, with the evidence at 1-based position ``evidence_at`` (or nowhere)."""
    hits = list(FILLER)
    if evidence_at is not None:
        hits[evidence_at - 1] = hit(f"前文{evidence}后文", evidence_at)
    return hits


def answer(text: str, cite: str | None, abstained: bool = False, span: str = "") -> Answer:
    citations = (hit(cite, 1),) if cite is not None else ()
    return Answer(question="", text=text, citations=citations, abstained=abstained,
                  span=span or ("" if abstained else text))


ABSTAIN = answer("未在语料中找到依据", "最接近的段落", abstained=True)
CASES = [
    Case("a", "问甲", ("西海岸新区",), (E1,), "d", "factoid"),
    Case("b", "问乙", ("2000亿元",), (E2,), "d", "factoid"),
    Case("c", "问丙", ("40个",), (E3,), "d", "paraphrase"),
    Case("d", "问丁", (), (), None, "unanswerable"),
    Case("e", "问戊", (), (), None, "unanswerable"),
]
# Mode "good": evidence at 1, 3, (none); answers right, right-but-badly-cited, abstained;
# abstains on d, answers e. Mode "bad": finds nothing, answers everything wrongly.
SCRIPT = {
    "good": {
        "问甲": (ranked(1, E1), answer("磁存储芯片布局在西海岸新区。", E1, span="西海岸新区")),
        "问乙": (ranked(3, E2), answer("规模达到2000亿元", "别的段落", span="达到2000亿元")),
        "问丙": (ranked(None, E3), ABSTAIN),
        "问丁": (list(FILLER), ABSTAIN),
        "问戊": (list(FILLER), answer("胡乱作答", "无关段落")),
    },
    "bad": {q: (list(FILLER), answer("城阳区", "无关段落")) for q in
            ("问甲", "问乙", "问丙", "问丁", "问戊")},
}


class FakeQA:
    """search/ask from a script; records the calls."""

    def __init__(self, script=SCRIPT):
        self.script = script
        self.calls = []

    def search(self, question, k=5, mode="hybrid"):
        self.calls.append(("search", question, k, mode))
        return self.script[mode][question][0][:k]

    def ask(self, question, k=5, mode="hybrid"):
        self.calls.append(("ask", question, k, mode))
        return self.script[mode][question][1]


@pytest.fixture(scope="module")
def result():
    return evaluate(FakeQA(), CASES, k=10, modes=("good", "bad"))


def test_evaluate_calls_search_with_k_and_ask_with_5():
    qa = FakeQA()
    evaluate(qa, CASES, k=10, modes=("good",))
    searches = [c for c in qa.calls if c[0] == "search"]
    asks = [c for c in qa.calls if c[0] == "ask"]
    assert searches == [("search", c.question, 10, "good") for c in CASES]
    assert {c[2] for c in asks} == {5} and len(asks) == len(CASES) + 1  # one warm-up


def test_retrieval_metrics_by_hand(result):
    r = result.metrics
    # answerable ranks: 1, 3, None
    assert r["good/recall@1"] == pytest.approx(1 / 3)
    assert r["good/recall@3"] == pytest.approx(2 / 3)
    assert r["good/recall@5"] == pytest.approx(2 / 3)
    assert r["good/recall@10"] == pytest.approx(2 / 3)
    assert r["good/mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert r["good/ndcg@10"] == pytest.approx((1 + 0.5) / 3)
    assert r["bad/recall@10"] == 0.0 and r["bad/mrr@10"] == 0.0


def test_answer_metrics_by_hand(result):
    r = result.metrics
    assert r["good/accuracy"] == pytest.approx(2 / 3)  # a, b right; c abstained
    # citation precision over answered answerable cases: a cited right, b not
    assert r["good/citation_precision"] == pytest.approx(1 / 2)
    # abstained on c (answerable) and d (unanswerable); unanswerable d, e
    assert r["good/abstention_precision"] == pytest.approx(1 / 2)
    assert r["good/abstention_recall"] == pytest.approx(1 / 2)
    # a, b right + d abstained = 3 of 5
    assert r["good/accuracy_all"] == pytest.approx(3 / 5)
    # EM and F1 are the short answer span's: a's span is its gold exactly (EM 1, F1 1);
    # b's span [达 到 2000 亿 元] is 5 tokens, gold [2000 亿 元] 3 → 2·(3/5)/(8/5) = 3/4; c: 0
    assert r["good/em"] == pytest.approx(1 / 3)
    assert r["good/f1"] == pytest.approx((1 + 3 / 4 + 0) / 3)
    assert r["good/span_accuracy"] == pytest.approx(2 / 3)
    assert r["good/wrong_abstention"] == pytest.approx(1 / 3)  # c
    assert r["good/span_chars_p50"] == pytest.approx(6.5)  # 5 and 8 characters
    assert r["bad/accuracy"] == 0.0
    assert r["bad/abstention_precision"] is None  # never abstained
    assert r["bad/abstention_recall"] == 0.0


def test_per_type_keys(result):
    r = result.metrics
    assert r["good/factoid/recall@1"] == pytest.approx(1 / 2)
    assert r["good/factoid/accuracy"] == 1.0
    assert r["good/paraphrase/accuracy"] == 0.0
    assert r["good/unanswerable/abstention_recall"] == pytest.approx(1 / 2)
    assert r["good/unanswerable/accuracy_all"] == pytest.approx(1 / 2)
    assert "good/unanswerable/recall@5" not in r  # undefined per type: left out
    splits = {f"split:{x}": sum(c.split == x for c in CASES) for x in ("tune", "check")}
    assert result.counts == {"all": 5, "answerable": 3, "factoid": 2, "paraphrase": 1,
                             "unanswerable": 2, **splits}


def test_latency_keys(result):
    for mode in ("good", "bad"):
        for key in ("search_p50_ms", "search_p95_ms", "ask_p50_ms", "ask_p95_ms"):
            assert result.metrics[f"{mode}/{key}"] >= 0


def test_per_case_records(result):
    rec = {r.id: r for r in result.records("good")}
    assert rec["a"].evidence_rank == 1 and rec["a"].correct and rec["a"].citation_correct
    assert rec["b"].evidence_rank == 3 and rec["b"].citation_correct is False
    assert rec["c"].abstained and rec["c"].answer == "" and rec["c"].citation_correct is None
    assert rec["d"].correct and rec["d"].evidence_rank is None
    assert not rec["e"].correct
    assert rec["a"].cited == "d:1" and rec["a"].top == "d:1"


def test_failures_list_every_failed_case(result):
    good = {f.id: f for f in failures(result, "good")}
    assert set(good) == {"b", "c", "e"}
    assert good["b"].problems == ("citation lacks evidence",)
    assert good["c"].problems == ("abstained", "evidence not in top 10")
    assert good["c"].got == "(abstained)" and good["c"].evidence_rank is None
    assert good["e"].problems == ("should abstain",) and good["e"].expected == "(abstain)"
    bad = failures(result, "bad")
    assert [f.id for f in bad] == ["a", "b", "c", "d", "e"]
    assert bad[0].problems == ("wrong answer", "evidence not in top 10", "citation lacks evidence")
    assert len(failures(result)) == 8
    text = format_failures(failures(result, "good"))
    assert "✗ c [paraphrase] abstained, evidence not in top 10 (evidence rank –, top hit d:1)" \
        in text
    assert "✗ e [unanswerable] should abstain\n" in text


def test_long_answer_is_a_failure():
    long_answer = "西海岸新区" + "。" * 200
    script = {"m": {"问甲": (ranked(1, E1), answer(long_answer, E1))}}
    res = evaluate(FakeQA(script), CASES[:1], k=10, modes=("m",))
    assert res.metrics["m/accuracy"] == 0.0
    assert failures(res)[0].problems == ("answer over 200 chars",)


def test_no_unanswerable_questions_gives_undefined_not_a_crash():
    script = {"m": {"问甲": (ranked(2, E1), answer("西海岸新区", E1))}}
    res = evaluate(FakeQA(script), CASES[:1], k=10, modes=("m",))
    assert res.metrics["m/abstention_recall"] is None
    assert res.metrics["m/abstention_precision"] is None
    assert res.metrics["m/accuracy_all"] == 1.0
    table = format_table(res)
    assert "abstention recall" in table and "–" in table


def test_only_unanswerable_questions():
    script = {"m": {"问丁": ([], ABSTAIN)}}
    res = evaluate(FakeQA(script), CASES[3:4], k=10, modes=("m",))
    assert res.metrics["m/recall@5"] is None and res.metrics["m/accuracy"] is None
    assert res.metrics["m/abstention_recall"] == 1.0
    format_table(res)  # no crash on undefined values


def test_empty_search_results():
    script = {"m": {"问甲": ([], ABSTAIN)}}
    res = evaluate(FakeQA(script), CASES[:1], k=10, modes=("m",))
    assert res.metrics["m/recall@10"] == 0.0 and res.records("m")[0].top == ""


def test_small_k_limits_the_cutoffs():
    res = evaluate(FakeQA(), CASES, k=3, modes=("good",))
    assert "good/recall@3" in res.metrics and "good/recall@5" not in res.metrics
    assert res.metrics["good/mrr@3"] == pytest.approx((1 + 1 / 3) / 3)
    assert "MRR@3" in format_table(res)


def test_evaluate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="k must be at least 1"):
        evaluate(FakeQA(), CASES, k=0)
    with pytest.raises(ValueError, match="at least one case"):
        evaluate(FakeQA(), [], modes=("good",))


def test_rejected_question_names_the_case():
    class Rejecting(FakeQA):
        def search(self, question, k=5, mode="hybrid"):
            raise QAError("问题过长")

    with pytest.raises(QAError, match=r"case 'a' \(line 0\): 问题过长"):
        evaluate(Rejecting(), CASES[:1], modes=("good",))


def test_table_has_modes_as_columns(result):
    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].startswith("5 questions (3 answerable, 2 unanswerable)")
    assert lines[1].split() == ["good", "bad"]
    row = next(x for x in lines if x.startswith("recall@3 "))
    assert row.split()[1:] == ["0.667", "0.000"]
    assert any(x.startswith("factoid (2)") for x in lines)
    assert any(x.startswith("unanswerable (2)") for x in lines)


def test_json_is_flat_and_utf8(result, tmp_path):
    path = write_json(result, tmp_path / "sub" / "m.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["good/recall@5"] == pytest.approx(2 / 3, abs=1e-6)
    assert data["bad/abstention_precision"] is None
    assert data["n/all"] == 5
    assert all(not isinstance(v, (dict, list)) for v in data.values())


def test_report(result, tmp_path):
    report = write_report(result, tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "| metric | good | bad |" in text
    assert "![recall@k per mode](recall_at_k.png)" in text
    assert "## Failures: good (3 of 5)" in text and "| c | paraphrase | 问丙 |" in text
    png = (tmp_path / "report" / "recall_at_k.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    lines = (tmp_path / "report" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10 and "问甲" in lines[0]


def test_cli_with_a_bad_question_file_raises_before_loading_an_index(tmp_path):
    from qa.evaluation.evaluate import cli

    path = write_lines(tmp_path / "q.jsonl", [GOOD, GOOD])
    args = Namespace(questions=str(path), index=str(tmp_path / "none"), corpus=None, k=10,
                     modes="hybrid", json_file=None, report=None)
    with pytest.raises(QAError, match="q.jsonl:2: duplicate id"):
        cli(args)


def test_cli_prints_table_and_failures_and_writes_files(tmp_path, monkeypatch, capsys):
    import qa.api
    from qa.evaluation.evaluate import cli

    path = write_lines(tmp_path / "q.jsonl", [
        {"id": c.id, "question": c.question, "answers": list(c.answers),
         "evidence": list(c.evidence), "doc": c.doc, "type": c.type} for c in CASES
    ])
    fake = FakeQA({"hybrid": SCRIPT["good"], "bm25": SCRIPT["bad"]})
    monkeypatch.setattr(qa.api.QA, "open", classmethod(lambda cls, index, corpus: fake))
    args = Namespace(questions=str(path), index="unused", corpus="unused", k=10,
                     modes="hybrid,bm25", json_file=str(tmp_path / "m.json"),
                     report=str(tmp_path / "rep"))
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["hybrid", "bm25"]
    assert "Failures (hybrid): 3 of 5" in out and "✗ b [factoid]" in out
    assert "Failures (bm25): 5 of 5" in out
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["hybrid/recall@1"] \
        == pytest.approx(1 / 3, abs=1e-6)
    assert (tmp_path / "rep" / "report.md").exists()


# ---------------------------------------------------------------- the real index


def test_evaluate_on_the_seed_index(seed_qa, tmp_path):
    cases = load_questions(QUESTIONS)
    picked = [c for c in cases if c.type != "unanswerable"][:8]
    picked += [c for c in cases if c.type == "unanswerable"][:2]
    res = evaluate(seed_qa, picked, k=10, modes=("hybrid", "bm25", "dense"))
    data = json.loads(write_json(res, tmp_path / "m.json").read_text(encoding="utf-8"))
    for mode in ("hybrid", "bm25", "dense"):
        for name in ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10",
                     "accuracy", "em", "f1", "abstention_recall", "accuracy_all"):
            value = data[f"{mode}/{name}"]
            assert value is not None and 0.0 <= value <= 1.0, (mode, name, value)
        for name in ("citation_precision", "abstention_precision"):
            value = data[f"{mode}/{name}"]
            assert value is None or 0.0 <= value <= 1.0
        assert data[f"{mode}/search_p50_ms"] > 0
        assert data[f"{mode}/recall@10"] >= data[f"{mode}/recall@1"]
    assert "hybrid" in format_table(res)


# ---------------------------------------------------------------- comparing two indexes
def test_evaluate_retrieval_gives_evaluates_retrieval_figures_without_asking():
    from qa.evaluation.running import evaluate_retrieval

    full = evaluate(FakeQA(), CASES, k=10, modes=("good", "bad"))
    qa = FakeQA()
    alone = evaluate_retrieval(qa, CASES, k=10, modes=("good", "bad"))
    assert {c[0] for c in qa.calls} == {"search"}  # no answers
    assert len(qa.calls) == 2 * 3  # the three answerable cases, once per mode
    assert alone["good/recall@3"] == pytest.approx(2 / 3)
    assert alone["good/recall@1"] == pytest.approx(1 / 3)
    for key, value in alone.items():
        assert full.metrics[key] == value, key
    assert {k.split("/")[1] for k in alone if "split:" in k} == {"split:tune", "split:check"}


def _metrics(all5: float, tune5: float, check5: float) -> dict:
    out = {"hybrid/recall@1": 0.8, "hybrid/recall@5": all5,
           "hybrid/split:tune/recall@5": tune5, "hybrid/split:check/recall@5": check5}
    return out


def test_compare_passes_within_the_tolerance_on_all_and_each_split():
    from qa.evaluation.parity import compare, format_parity

    counts = {"all": 456, "tune": 230, "check": 226}
    base = _metrics(0.965, 0.969, 0.961)
    same = compare(base, _metrics(0.935, 0.939, 0.991), ("hybrid",), ("A", "B"), counts)
    assert same.within  # -0.03, -0.03, +0.03: at the tolerance, not beyond
    assert [r.part for r in same.gated()] == ["all", "tune", "check"]
    text = format_parity(same)
    assert "✓ 一致 (parity holds)" in text and "all -0.030, tune -0.030, check +0.030" in text
    assert "check (226)" in text
    # Within overall but not on the held-out split: fails.
    split_off = compare(base, _metrics(0.950, 0.985, 0.920), ("hybrid",), ("A", "B"), counts)
    assert not split_off.within
    assert "✗ 不一致 (parity fails)" in format_parity(split_off)
    assert split_off.flat()["parity/hybrid/check/recall@5/gap"] == pytest.approx(-0.041)
    assert split_off.flat()["parity/within"] is False
    # A figure the second index lacks cannot pass.
    lacking = dict(base)
    del lacking["hybrid/split:tune/recall@5"]
    assert not compare(base, lacking, ("hybrid",), ("A", "B"), counts).within
    assert compare(base, base, ("hybrid",), ("A", "B"), counts, tolerance=0).within


def test_compare_refuses_what_it_cannot_judge():
    from qa.evaluation.parity import check_arguments, compare
    from qa.validate import ArgumentError

    with pytest.raises(ArgumentError, match="add hybrid to --modes"):
        check_arguments(("bm25",), 10, 0.03)
    with pytest.raises(ArgumentError, match="use --k 5 or more"):
        check_arguments(("hybrid",), 3, 0.03)
    with pytest.raises(ArgumentError, match="--tolerance must be 0 or more"):
        check_arguments(("hybrid",), 10, -0.1)
    with pytest.raises(ArgumentError, match="use --k 5 or more"):
        compare({"hybrid/recall@1": 1.0}, {"hybrid/recall@1": 1.0}, ("hybrid",), ("A", "B"), {})
