"""Statistics for comparing samplers over seeds: paired tests, a bootstrap interval, power, luck, a verdict.

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

    - sign-flip permutation test on the mean difference (``scipy.stats.permutation_test``, exact when 2**n
      is small): two-sided; with n pairs it cannot go below ``2 / 2**n`` (0.25 for 3 seeds);
    - Wilcoxon signed-rank test (exact);
    - a 95 % bootstrap interval of the mean difference (``scipy.stats.bootstrap(paired=True)``, BCa);
    - Cohen's d_z = mean difference / sd of the differences.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two equally long 1-D sequences paired by seed, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"need at least 2 paired seeds, got {len(x)}")
    d = x - y
    n = len(d)
    perm = stats.permutation_test(
        (x, y), _mean_diff, permutation_type="samples", vectorized=True, n_resamples=min(2**n, 200_000),
        alternative="two-sided", rng=seed,
    )
    wilcoxon_p = float(stats.wilcoxon(d, method="exact").pvalue) if np.any(d != 0) else 1.0
    if np.all(d == d[0]):
        low = high = float(d[0])  # no spread: every resample has the same mean
    else:
        ci = stats.bootstrap(
            (x, y), _mean_diff, paired=True, vectorized=True, confidence_level=0.95, n_resamples=9999,
            method="BCa", rng=seed,
        ).confidence_interval
        low, high = float(ci.low), float(ci.high)
    sd = float(d.std(ddof=1))
    return PairedComparison(
        a=names[0], b=names[1], n_pairs=n, mean_diff=float(d.mean()), median_diff=float(np.median(d)), sd_diff=sd,
        a_wins=int((d > 0).sum()), b_wins=int((d < 0).sum()), permutation_p=float(perm.pvalue),
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


def verdict(c: PairedComparison, claimed_gap: float | None = None) -> str:
    """One paragraph that states what the data say, whichever way that is."""
    lines = [
        f"{c.a} - {c.b}: mean {c.mean_diff:+.2f} points over {c.n_pairs} paired seeds "
        f"(95 % bootstrap CI {c.ci_low:+.2f} to {c.ci_high:+.2f}); {c.a} better on {c.a_wins}, {c.b} on {c.b_wins}. "
        f"Sign-flip permutation p = {c.permutation_p:.3g} (smallest possible {c.p_floor:.2g}), "
        f"Wilcoxon p = {c.wilcoxon_p:.3g}."
    ]
    if c.significant:
        better = c.a if c.mean_diff > 0 else c.b
        lines.append(f"Verdict: {better} is better at this budget (p < {ALPHA}).")
    elif c.p_floor >= ALPHA:
        lines.append(f"Verdict: undecided: with {c.n_pairs} seeds no test can reach p < {ALPHA}.")
    else:
        lines.append(f"Verdict: no difference shown at this budget (p >= {ALPHA}).")
    if claimed_gap is not None and c.n_pairs >= 2 and c.sd_diff > 0:
        inside = c.ci_low <= claimed_gap <= c.ci_high
        lines.append(
            f"The claimed gap of {claimed_gap:+.2f} points lies {'inside' if inside else 'outside'} the interval; "
            f"{c.n_pairs} seeds detect a true gap of {detectable_gap(c.sd_diff, c.n_pairs):.2f} points with 80 % power."
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
