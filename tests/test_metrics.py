"""Metrics on hand-made cases whose values are worked out by hand in the comments."""

import math

import pytest

from qa.evaluation.metrics import (
    abstention_precision_recall,
    answer_correct,
    char_f1,
    contains_evidence,
    exact_match,
    first_hit_rank,
    longest_common_substring,
    mean,
    mixed_segmentation,
    mrr,
    ndcg,
    normalize,
    percentile,
    recall_at,
    remove_punctuation,
)

# ---------------------------------------------------------------- normalisation / matching


def test_normalize_removes_all_whitespace_and_folds_traditional():
    assert normalize("青島 西海岸\n新區\u3000 13 公里\t") == "青岛西海岸新区13公里"
    assert normalize("") == ""
    assert normalize(" \n ") == ""


def test_contains_evidence_ignores_whitespace_on_both_sides():
    passage = "距离市区约13 公里，\n磁存储芯片布局在\n西海岸新区。"
    assert contains_evidence(passage, ["13公里"])
    assert contains_evidence(passage, ["磁存储芯片 布局在西海岸新区"])
    assert not contains_evidence(passage, ["城阳区"])


def test_contains_evidence_folds_a_traditional_passage():
    assert contains_evidence("磁存儲晶片佈局在西海岸新區", ["西海岸新区"])
    assert contains_evidence("西海岸新区", ["西海岸新區"])


def test_contains_evidence_empty_inputs():
    assert not contains_evidence("任何文字", [])
    assert not contains_evidence("任何文字", ["", "  "])  # empty evidence never matches
    assert not contains_evidence("", ["任何"])


def test_first_hit_rank_is_one_based_and_takes_the_first_hit():
    passages = ["无关段落", "这里有证据甲", "这里也有证据甲"]
    assert first_hit_rank(passages, ["证据甲"]) == 2
    assert first_hit_rank(passages, ["无关"]) == 1
    assert first_hit_rank(passages, ["证据乙", "也有证据"]) == 3  # any evidence string


def test_first_hit_rank_tie_breaks_by_list_order():
    # Two passages that both contain the evidence (say, with equal scores): the
    # earlier position wins, whatever the passages are.
    assert first_hit_rank(["证据 甲一", "证据甲二"], ["证据甲"]) == 1
    assert first_hit_rank(["证据甲二", "证据甲一"], ["证据甲"]) == 1


def test_first_hit_rank_empty_and_missing():
    assert first_hit_rank([], ["证据"]) is None
    assert first_hit_rank(["证据"], []) is None
    assert first_hit_rank(["甲", "乙"], ["丙"]) is None


# ---------------------------------------------------------------- ranks


RANKS = [1, 3, None, 7, 2]  # five questions


def test_recall_at_by_hand():
    assert recall_at(RANKS, 1) == pytest.approx(1 / 5)
    assert recall_at(RANKS, 3) == pytest.approx(3 / 5)
    assert recall_at(RANKS, 5) == pytest.approx(3 / 5)
    assert recall_at(RANKS, 10) == pytest.approx(4 / 5)


def test_rank_metrics_on_no_questions_are_undefined():
    assert recall_at([], 5) is None
    assert mrr([]) is None
    assert ndcg([]) is None


def test_rank_metrics_when_nothing_is_found():
    assert recall_at([None, None], 10) == 0.0
    assert mrr([None, None]) == 0.0
    assert ndcg([None, None]) == 0.0


def test_mrr_by_hand():
    # (1 + 1/3 + 0 + 1/7 + 1/2) / 5
    assert mrr(RANKS, 10) == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 2) / 5)
    # cutoff 5 drops the rank-7 hit
    assert mrr(RANKS, 5) == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)


def test_ndcg_by_hand():
    # one relevant item: nDCG = 1/log2(r+1): rank 1 → 1, rank 3 → 1/2, rank 7 → 1/3
    assert ndcg([1]) == 1.0
    assert ndcg([3]) == pytest.approx(0.5)
    assert ndcg([7]) == pytest.approx(1 / 3)
    assert ndcg([2]) == pytest.approx(1 / math.log2(3))  # 0.6309
    assert ndcg([11], k=10) == 0.0
    assert ndcg(RANKS, 10) == pytest.approx((1 + 0.5 + 0 + 1 / 3 + 1 / math.log2(3)) / 5)
    assert ndcg(RANKS, 5) == pytest.approx((1 + 0.5 + 1 / math.log2(3)) / 5)


def test_tied_ranks_count_equally():
    assert mrr([2, 2, 2]) == pytest.approx(0.5)
    assert recall_at([3, 3], 3) == 1.0
    assert recall_at([3, 3], 2) == 0.0


@pytest.mark.parametrize("metric", [recall_at, mrr, ndcg])
def test_rank_metrics_reject_k_below_one(metric):
    with pytest.raises(ValueError, match="k must be at least 1"):
        metric([1], 0)


# ---------------------------------------------------------------- answers


def test_answer_correct_substring_after_normalisation():
    assert answer_correct("磁存储芯片布局在西海岸新区。", ["西海岸新区"])
    assert answer_correct("布局在西海岸 新区", ["西海岸新区"])  # whitespace in the answer
    assert answer_correct("布局在西海岸新区", ["西海岸新區"])  # traditional gold
    assert answer_correct("布局在西海岸新區", ["西海岸新区"])  # traditional answer
    assert answer_correct("约13 公里", ["13公里"])
    assert answer_correct("人工智能", ["新一代信息技术", "人工智能"])  # any gold
    assert not answer_correct("布局在城阳区", ["西海岸新区"])


def test_answer_over_200_characters_is_wrong_even_if_it_contains_the_gold():
    exactly = "西海岸新区" + "。" * 195
    assert len(exactly) == 200 and answer_correct(exactly, ["西海岸新区"])
    assert not answer_correct(exactly + "。", ["西海岸新区"])


def test_answer_correct_empty_inputs():
    assert not answer_correct("", ["西海岸新区"])
    assert not answer_correct("西海岸新区", [])
    assert not answer_correct("西海岸新区", [""])  # an empty gold matches nothing


def test_remove_punctuation_like_cmrc():
    assert remove_punctuation("“西海岸 新区”。") == "西海岸新区"
    assert remove_punctuation("Qingdao, West-Coast!") == "qingdaowestcoast"
    assert remove_punctuation("（青島）") == "青岛"


def test_mixed_segmentation_chinese_by_character_english_by_word():
    assert mixed_segmentation("青岛GDP增长5.5%") == ["青", "岛", "gdp", "增", "长", "55"]
    assert mixed_segmentation("West Coast 新区，") == ["west", "coast", "新", "区"]
    assert mixed_segmentation("，。！") == []
    assert mixed_segmentation("") == []


def test_longest_common_substring():
    assert longest_common_substring(list("青岛西海岸新区"), list("西海岸新区")) == 5
    assert longest_common_substring(list("abcxabcd"), list("zabcdz")) == 4  # 'abcd'
    assert longest_common_substring(list("abc"), list("xyz")) == 0
    assert longest_common_substring([], list("abc")) == 0


def test_exact_match():
    assert exact_match("西海岸新区", ["西海岸新区"]) == 1.0
    assert exact_match("“西海岸 新区”。", ["西海岸新区"]) == 1.0
    assert exact_match("西海岸新區", ["西海岸新区"]) == 1.0
    assert exact_match("青岛西海岸新区", ["西海岸新区"]) == 0.0
    assert exact_match("人工智能", ["新一代信息技术", "人工智能"]) == 1.0
    assert exact_match("", ["西海岸新区"]) == 0.0
    assert exact_match("西海岸新区", []) == 0.0
    assert exact_match("", ["。"]) == 0.0  # a gold that is only punctuation never matches


def test_char_f1_by_hand():
    # prediction 5 chars, gold 7, LCS 5: P = 1, R = 5/7, F1 = 2·(5/7)/(12/7) = 10/12
    assert char_f1("西海岸新区", ["青岛西海岸新区"]) == pytest.approx(10 / 12)
    # the reverse: P = 5/7, R = 1 → same F1
    assert char_f1("青岛西海岸新区", ["西海岸新区"]) == pytest.approx(10 / 12)
    # longest common *substring*, not subsequence: "西新区" in "西海岸新区" has LCS 2
    # ("新区"): P = 2/3, R = 2/5, F1 = 2·(4/15)/(16/15) = 0.5
    assert char_f1("西新区", ["西海岸新区"]) == pytest.approx(0.5)
    assert char_f1("西海岸新区", ["西海岸新区"]) == 1.0
    assert char_f1("城阳区政府", ["西海岸"]) == 0.0


def test_char_f1_takes_the_best_gold_and_ignores_punctuation():
    golds = ["青岛西海岸新区", "西海岸新区"]
    assert char_f1("西海岸新区。", golds) == 1.0
    # English words count whole: pred [west, coast], gold [west, coast, new, area]
    # LCS 2: P = 1, R = 1/2, F1 = 2/3
    assert char_f1("West Coast", ["West Coast New Area"]) == pytest.approx(2 / 3)


def test_char_f1_empty_inputs():
    assert char_f1("", ["西海岸新区"]) == 0.0
    assert char_f1("西海岸新区", []) == 0.0
    assert char_f1("。。", ["西海岸新区"]) == 0.0


# ---------------------------------------------------------------- abstention, latency


def test_abstention_precision_recall_by_hand():
    pairs = [
        (True, True),  # unanswerable, abstained
        (True, False),  # unanswerable, answered
        (False, True),  # answerable, abstained
        (False, True),
        (False, False),
    ]
    # precision: 1 of 3 abstentions was right; recall: 1 of 2 unanswerable caught
    precision, recall = abstention_precision_recall(pairs)
    assert precision == pytest.approx(1 / 3)
    assert recall == pytest.approx(1 / 2)


def test_abstention_undefined_cases():
    assert abstention_precision_recall([]) == (None, None)
    # no unanswerable question: recall undefined; precision 0 of 1
    assert abstention_precision_recall([(False, True), (False, False)]) == (0.0, None)
    # never abstained: precision undefined; recall 0 of 1
    assert abstention_precision_recall([(True, False), (False, False)]) == (None, 0.0)


def test_percentile_linear_interpolation():
    values = [40.0, 10.0, 30.0, 20.0]  # sorted: 10 20 30 40
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)  # 30 + 0.85·10
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([5.0, 5.0, 5.0], 50) == 5.0  # ties
    assert percentile([], 50) is None


def test_percentile_matches_numpy():
    np = pytest.importorskip("numpy")
    values = [3.1, 0.2, 9.9, 4.4, 4.4, 7.0, 1.5]
    for q in (0, 10, 50, 90, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_rejects_bad_q():
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        percentile([1.0], 101)


def test_mean():
    assert mean([True, False, True, True]) == pytest.approx(0.75)
    assert mean([]) is None
