"""Paired tests, t-interval, Holm, power and the luck baseline, against known answers."""

from __future__ import annotations

import pytest

from tutorial_utils import stats


def test_three_seeds_all_agreeing_reach_only_the_floor_of_a_quarter():
    c = stats.compare_paired([70, 69, 71], [66, 67, 68], ("skopt", "random"))
    assert (c.n_pairs, c.a_wins, c.b_wins) == (3, 3, 0)
    assert c.mean_diff == pytest.approx(3.0) and c.sd_diff == pytest.approx(1.0)
    assert c.permutation_p == pytest.approx(0.25) == c.p_floor  # 2 of the 8 sign patterns are as extreme
    assert c.wilcoxon_p == pytest.approx(0.25)
    assert not c.significant
    assert "undecided" in stats.verdict(c)


def test_ten_seeds_all_agreeing_are_significant_and_the_interval_excludes_zero():
    a = [70 + 0.1 * k for k in range(10)]
    b = [68 + 0.15 * k for k in range(10)]
    c = stats.compare_paired(a, b, ("skopt", "random"))
    assert c.permutation_p == pytest.approx(2 / 1024)  # exact: only all-plus and all-minus are as extreme
    assert c.significant and c.ci_low > 0
    assert "skopt is better" in stats.verdict(c)


def test_a_mixed_result_is_not_significant():
    c = stats.compare_paired([70, 66, 69, 68, 67, 70], [68, 69, 67, 68.5, 68, 69])
    assert c.permutation_p > 0.5 and c.ci_low < 0 < c.ci_high
    assert "no difference shown" in stats.verdict(c)


@pytest.mark.parametrize("dz, n", [(0.5, 34), (0.8, 15), (1.0, 10)])
def test_seeds_needed_matches_the_paired_t_test_tables(dz, n):
    # Two-sided alpha 0.05, power 0.8 (Cohen's tables / G*Power for a paired t-test).
    assert stats.seeds_needed(dz * 2.0, 2.0) == n


def test_detectable_gap_is_the_inverse_of_power():
    gap = stats.detectable_gap(2.0, 10)
    assert stats.paired_power(gap, 2.0, 10) == pytest.approx(0.8, abs=1e-6)
    assert stats.detectable_gap(2.0, 40) < gap  # more seeds resolve a smaller gap


def test_expected_best_of_k_from_order_statistics():
    assert stats.expected_best_of([1, 2, 3, 4], 1) == pytest.approx(2.5)
    assert stats.expected_best_of([1, 2, 3, 4], 2) == pytest.approx(50 / 16)  # 4*7/16 + 3*5/16 + 2*3/16 + 1/16
    assert stats.expected_best_of([1, 2, 3, 4], 200) == pytest.approx(4.0)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="paired by seed"):
        stats.compare_paired([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        stats.compare_paired([1], [2])


def test_twenty_pairs_get_an_exact_sign_flip_p_and_a_t_interval():
    d = [1.0] * 19 + [-1.0]  # 19 of 20 seeds favour a, by the same amount
    c = stats.compare_paired([70 + x for x in d], [70.0] * 20)
    # Exact: sign patterns whose mean is at least as far from 0 as 18/20: 1 + 20 each side, of 2**20.
    assert c.permutation_p == pytest.approx(2 * 21 / 2**20)
    # t-interval of the mean difference: 0.9 +- t(0.975, 19) * sd / sqrt(20), sd = sqrt(20 * 0.19 / 19).
    half = 2.093024 * (20 * 0.19 / 19) ** 0.5 / 20**0.5
    assert (c.ci_low, c.ci_high) == pytest.approx((0.9 - half, 0.9 + half), abs=1e-5)


def test_holm_adjusts_step_down_and_keeps_the_order():
    # m = 4: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, then 0.04*1 = 0.04 is raised to 0.06 (monotone).
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # 0.5 * 2 caps at 1; 0.9 may not fall below it


def test_the_power_statement_carries_the_uncertainty_of_the_sd():
    low, high = stats.sd_interval(1.52, 10)
    assert (low, high) == pytest.approx((1.0455, 2.7749), abs=1e-3)  # chi-square(9) quantiles 2.7004, 19.0228
    gaps = stats.detectable_gap_range(1.52, 10)
    assert gaps[0] < stats.detectable_gap(1.52, 10) < gaps[1]
    assert gaps == pytest.approx((stats.detectable_gap(low, 10), stats.detectable_gap(high, 10)))


def test_the_exact_sign_flip_p_is_scipys_with_every_pattern():
    import numpy as np
    from scipy import stats as sps

    d = np.random.default_rng(3).normal(0.4, 1.0, 9)
    scipy_p = sps.permutation_test((d, np.zeros(9)), lambda x, y, axis=-1: np.mean(x - y, axis=axis),
                                   permutation_type="samples", vectorized=True, n_resamples=2**9).pvalue
    assert stats.sign_flip_p(d) == pytest.approx(scipy_p)
    assert stats.sign_flip_p([1.0, 1.0, 1.0]) == pytest.approx(0.25)


def test_the_verdict_follows_the_adjusted_p_when_given():
    c = stats.compare_paired([70 + 0.1 * k for k in range(6)], [68 + 0.15 * k for k in range(6)], ("tpe", "random"))
    assert c.permutation_p < stats.ALPHA and "tpe is better" in stats.verdict(c)
    text = stats.verdict(c, adjusted_p=0.11)
    assert "Holm-adjusted p = 0.11" in text and "no difference shown at this budget (Holm-adjusted p >= 0.05)" in text
