import pytest

from qa.retrieval.fusion import min_max, reciprocal_rank_fusion, weighted_fusion


def test_rrf_by_hand():
    a = [(1, 9.0), (2, 5.0), (3, 1.0)]
    b = [(3, 0.9), (1, 0.8)]
    fused = dict(reciprocal_rank_fusion([a, b], k=60))
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert [row for row, _ in reciprocal_rank_fusion([a, b], k=60)] == [1, 3, 2]


def test_rrf_ignores_score_scale_and_breaks_ties_by_row():
    # Row 7 first in one list, row 4 first in the other: equal fused scores.
    fused = reciprocal_rank_fusion([[(7, 1e6)], [(4, 1e-6)]], k=60)
    assert fused == [(4, pytest.approx(1 / 61)), (7, pytest.approx(1 / 61))]


def test_rrf_weights_and_empty():
    assert reciprocal_rank_fusion([[], []]) == []
    fused = dict(reciprocal_rank_fusion([[(1, 1.0)], [(2, 1.0)]], k=0, weights=[2.0, 1.0]))
    assert fused == {1: 2.0, 2: 1.0}
    with pytest.raises(ValueError, match="weights"):
        reciprocal_rank_fusion([[(1, 1.0)]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k must"):
        reciprocal_rank_fusion([[(1, 1.0)]], k=-1)


def test_min_max():
    assert min_max([]) == []
    assert min_max([(1, 3.0), (2, 3.0)]) == [(1, 1.0), (2, 1.0)]
    assert min_max([(1, 4.0), (2, 2.0), (3, 0.0)]) == [(1, 1.0), (2, 0.5), (3, 0.0)]


def test_weighted_fusion_by_hand():
    bm25 = [(1, 10.0), (2, 5.0), (3, 0.0)]  # normalised 1, .5, 0
    dense = [(2, 0.9), (4, 0.5)]  # normalised 1, 0
    fused = dict(weighted_fusion([bm25, dense], weights=[0.3, 0.7]))
    assert fused[1] == pytest.approx(0.3)
    assert fused[2] == pytest.approx(0.3 * 0.5 + 0.7)
    assert fused[3] == pytest.approx(0.0)
    assert fused[4] == pytest.approx(0.0)
    order = [row for row, _ in weighted_fusion([bm25, dense], weights=[0.3, 0.7])]
    assert order == [2, 1, 3, 4]  # 3 and 4 tie at 0: lower row first


def test_weighted_fusion_rejects_bad_weights():
    with pytest.raises(ValueError):
        weighted_fusion([[(1, 1.0)]], weights=[-1.0])
    with pytest.raises(ValueError):
        weighted_fusion([[(1, 1.0)], []], weights=[1.0])
