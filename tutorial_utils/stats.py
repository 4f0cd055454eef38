"""Statistics for comparing samplers over seeds: paired tests, a t-interval, Holm's correction, power, luck, a verdict.

A study's result is one draw of a random variable (the sampler's seed, training noise and the pruner's
choices all move it), so a comparison needs several seeds per sampler, paired by seed, and a test whose
answer accounts for how few seeds there are. The routines are scipy's; this module only wires them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.8
EXACT_MAX_PAIRS = 24  # up to 2**24 sign patterns are enumerated (batched); more pairs fall back to sampling


@dataclass(frozen=True)
class PairedComparison:
    """``a`` against ``b`` over paired seeds; differences are ``a - b`` in the values' units (points)."""

    a: str
    b: str
    n_pairs: int
    mean_diff: float
    median_diff: float
    sd_diff: float
    a_wins: int
    b_wins: int
    permutation_p: float
    p_floor: float
    wilcoxon_p: float
    ci_low: float
    ci_high: float
    effect_size_dz: float

    @property
    def significant(self) -> bool:
        return self.permutation_p < ALPHA


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def compare_paired(
    a: Sequence[float], b: Sequence[float], names: tuple[str, str] = ("a", "b"), seed: int = 0
) -> PairedComparison:
    """Paired comparison of two samplers' results over the same seeds.

    - sign-flip permutation test on the mean difference, exact (all 2**n sign patterns, :func:`sign_flip_p`)
      up to 24 pairs, else ``scipy.stats.permutation_test`` on 200,000 random patterns: two-sided; with n pairs it cannot go below ``2 / 2**n`` (0.25 for 3 seeds);
    - Wilcoxon signed-rank test (exact);
    - a 95 % t-interval of the mean difference (``scipy.stats.ttest_1samp``): on 10 pairs a BCa bootstrap
      interval covered the true mean only about 88 % of the time in simulation, the t-interval about 95 %;
    - Cohen's d_z = mean difference / sd of the differences.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two equally long 1-D sequences paired by seed, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"need at least 2 paired seeds, got {len(x)}")
    d = x - y
    n = len(d)
    if n <= EXACT_MAX_PAIRS:
        permutation_p = sign_flip_p(d)
    else:
        permutation_p = float(stats.permutation_test(
            (x, y), _mean_diff, permutation_type="samples", vectorized=True, n_resamples=200_000,
            alternative="two-sided", rng=seed,
        ).pvalue)
    wilcoxon_p = float(stats.wilcoxon(d, method="exact").pvalue) if np.any(d != 0) else 1.0
    if np.all(d == d[0]):
        low = high = float(d[0])  # no spread: the interval is the one value
    else:
        ci = stats.ttest_1samp(d, 0.0).confidence_interval(confidence_level=0.95)
        low, high = float(ci.low), float(ci.high)
    sd = float(d.std(ddof=1))
    return PairedComparison(
        a=names[0], b=names[1], n_pairs=n, mean_diff=float(d.mean()), median_diff=float(np.median(d)), sd_diff=sd,
        a_wins=int((d > 0).sum()), b_wins=int((d < 0).sum()), permutation_p=permutation_p,
        p_floor=2 / 2**n, wilcoxon_p=wilcoxon_p, ci_low=low, ci_high=high,
        effect_size_dz=float(d.mean() / sd) if sd > 0 else float("nan"),
    )


def paired_power(gap: float, sd_diff: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test to detect a true mean difference ``gap`` with ``n`` pairs whose
    differences have standard deviation ``sd_diff`` (noncentral t)."""
    if n < 2:
        return float("nan")
    df = n - 1
    noncentrality = gap / sd_diff * np.sqrt(n)
    critical = stats.t.ppf(1 - alpha / 2, df)
    power = float(stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality))
    if np.isnan(power):  # scipy's nct gives up far in the tail, where the power is all but certain
        return 1.0 if abs(noncentrality) > critical else 0.0
    return power


def seeds_needed(gap: float, sd_diff: float, power: float = POWER, alpha: float = ALPHA, max_n: int = 10_000) -> int:
    """The fewest paired seeds for which the paired t-test detects ``gap`` with probability ``power``."""
    for n in range(2, max_n + 1):
        if paired_power(gap, sd_diff, n, alpha) >= power:
            return n
    raise ValueError(f"more than {max_n} seeds needed for a gap of {gap} with sd {sd_diff}")


def detectable_gap(sd_diff: float, n: int, power: float = POWER, alpha: float = ALPHA) -> float:
    """The smallest true mean difference that ``n`` paired seeds detect with probability ``power``."""
    if n < 2:
        return float("inf")
    return float(optimize.brentq(lambda g: paired_power(g, sd_diff, n, alpha) - power, 1e-9 * sd_diff, 50 * sd_diff))


def sign_flip_p(differences: Sequence[float]) -> float:
    """Exact two-sided sign-flip p of the mean of paired ``differences``: the share of the 2**n sign patterns
    whose sum is at least as far from 0 as the observed one.

    The same number as ``scipy.stats.permutation_test(..., permutation_type="samples")`` with every pattern
    (a test checks it), but enumerated as 2**16 patterns at a time with one matrix product: for 20 pairs
    0.08 s against scipy's 11.5 s, side by side on the 2-core development machine (2026-12-03).
    """
    d = np.asarray(differences, dtype=float)
    n = len(d)
    if n > EXACT_MAX_PAIRS:
        raise ValueError(f"{n} pairs: exact enumeration stops at {EXACT_MAX_PAIRS} (2**{EXACT_MAX_PAIRS} patterns)")
    observed = abs(d.sum()) * (1 - 1e-12)  # ties within rounding count as "as extreme"
    inner = min(n, 16)
    patterns = ((np.arange(1 << inner)[:, None] >> np.arange(inner)) & 1) * 2 - 1
    inner_sums = patterns @ d[:inner]
    outer = n - inner
    extreme = 0
    for high in range(1 << outer):
        offset = (((high >> np.arange(outer)) & 1) * 2 - 1) @ d[inner:] if outer else 0.0
        extreme += int(np.count_nonzero(np.abs(inner_sums + offset) >= observed))
    return extreme / 2**n


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``pvalues`` (one family of comparisons), in their order.

    The smallest p is multiplied by m, the next by m - 1, ..., each kept at least as large as the one before
    and at most 1; an adjusted p below ALPHA rejects with a family-wise error of at most ALPHA. (scipy has
    Benjamini-Hochberg, ``false_discovery_control``, which controls another error rate.)
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate(np.minimum(1.0, p[order] * (m - np.arange(m))))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted.tolist()


def sd_interval(sd: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The chi-square interval of a standard deviation measured on ``n`` values (normal model)."""
    if n < 2:
        return float("nan"), float("nan")
    df = n - 1
    tail = (1 - confidence) / 2
    return (float(sd * np.sqrt(df / stats.chi2.ppf(1 - tail, df))), float(sd * np.sqrt(df / stats.chi2.ppf(tail, df))))


def detectable_gap_range(sd_diff: float, n: int, power: float = POWER, alpha: float = ALPHA) -> tuple[float, float]:
    """The smallest gap ``n`` seeds detect with ``power``, at both ends of the sd's 95 % interval: the measured
    sd is itself an estimate, so the power statement carries its uncertainty."""
    low, high = sd_interval(sd_diff, n)
    return detectable_gap(low, n, power, alpha), detectable_gap(high, n, power, alpha)


def expected_best_of(values: Sequence[float], k: int) -> float:
    """Expected maximum of ``k`` draws (with replacement) from ``values``: how high picking the best of k
    climbs from luck alone when every draw is the same configuration. Exact, from order statistics."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or k < 1:
        raise ValueError("need at least one value and k >= 1")
    i = np.arange(1, n + 1)
    weights = (i / n) ** k - ((i - 1) / n) ** k
    return float(np.sum(weights * x))


def verdict(c: PairedComparison, claimed_gap: float | None = None, adjusted_p: float | None = None) -> str:
    """One paragraph that states what the data say, whichever way that is.

    ``adjusted_p`` (e.g. Holm's, from :func:`holm` over the family of comparisons) decides the verdict when given.
    """
    lines = [
        f"{c.a} - {c.b}: mean {c.mean_diff:+.2f} points over {c.n_pairs} paired seeds "
        f"(95 % t-interval {c.ci_low:+.2f} to {c.ci_high:+.2f}); {c.a} better on {c.a_wins}, {c.b} on {c.b_wins}. "
        f"Sign-flip permutation p = {c.permutation_p:.3g} (smallest possible {c.p_floor:.2g}), "
        f"Wilcoxon p = {c.wilcoxon_p:.3g}."
    ]
    p, which = (c.permutation_p, "p") if adjusted_p is None else (adjusted_p, "Holm-adjusted p")
    if adjusted_p is not None:
        lines.append(f"Holm-adjusted p = {adjusted_p:.3g}.")
    if p < ALPHA:
        better = c.a if c.mean_diff > 0 else c.b
        lines.append(f"Verdict: {better} is better at this budget ({which} < {ALPHA}).")
    elif c.p_floor >= ALPHA:
        lines.append(f"Verdict: undecided: with {c.n_pairs} seeds no test can reach p < {ALPHA}.")
    else:
        lines.append(f"Verdict: no difference shown at this budget ({which} >= {ALPHA}).")
    if claimed_gap is not None and c.n_pairs >= 2 and c.sd_diff > 0:
        inside = c.ci_low <= claimed_gap <= c.ci_high
        low, high = detectable_gap_range(c.sd_diff, c.n_pairs)
        lines.append(
            f"The claimed gap of {claimed_gap:+.2f} points lies {'inside' if inside else 'outside'} the interval; "
            f"{c.n_pairs} seeds detect a true gap of {detectable_gap(c.sd_diff, c.n_pairs):.2f} points with 80 % power "
            f"at the measured sd ({low:.2f} to {high:.2f} across the sd's 95 % interval)."
        )
    return " ".join(lines)


# ------------------------------------------------------------------------------------------ per-row comparisons


def per_sample_log_loss(y_true: np.ndarray, proba: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    """Each sample's log loss, -log p(true class); their mean is scikit-learn's ``log_loss``.

    Kept per sample so two models can be compared on the same test rows (paired bootstrap).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise ValueError(f"proba must be (n_samples, n_classes) with n_samples={len(y_true)}, got {proba.shape}")
    if y_true.min() < 0 or y_true.max() >= proba.shape[1]:
        raise ValueError(f"labels must be in 0..{proba.shape[1] - 1}, got {y_true.min()}..{y_true.max()}")
    picked = proba[np.arange(len(y_true)), y_true.astype(int)]
    return -np.log(np.clip(picked, eps, 1.0))


@dataclass(frozen=True)
class PairedDifference:
    """Mean of (a - b) over the same samples, with a bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    level: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> PairedDifference:
    """Bootstrap CI of mean(a - b), resampling test rows; tells a real gain from test-set luck.

    Pairing matters: both models saw the same rows, so resampling rows keeps their shared difficulty.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"a and b must be non-empty 1-D arrays of equal length, got {a.shape} and {b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    diff = a - b
    if np.all(diff == diff[0]):  # no spread: every resample has the same mean
        return PairedDifference(float(diff[0]), float(diff[0]), float(diff[0]), level)
    ci = stats.bootstrap(
        (a, b), _mean_diff, paired=True, vectorized=True, n_resamples=n_boot, confidence_level=level,
        method="percentile", rng=seed,
    ).confidence_interval
    return PairedDifference(float(diff.mean()), float(ci.low), float(ci.high), level)
