"""Looking inside Bayesian optimization on a 1-D function: a GP surrogate with EI, and TPE's two densities.

The numbers come from small pure functions (``gp_steps``, ``expected_improvement``, ``tpe_densities``) so a
notebook can print what a plot shows and tests can check it; the ``plot_*`` functions only draw them.

- GP + EI: fit a Gaussian process to the points seen so far, draw its mean +- 2 sd, and under it the
  expected improvement; the next point is where EI peaks. Repeat: that is one Bayesian-optimization step.
- TPE: split the trials into the best ``gamma`` fraction and the rest, fit one density to each (l(x) for
  the good ones, g(x) for the others) and sample where l(x)/g(x) is high.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

__all__ = [
    "GPStep",
    "TPEDensities",
    "expected_improvement",
    "gp_steps",
    "plot_gp_steps",
    "plot_tpe_densities",
    "tpe_densities",
]

Objective1D = Callable[[np.ndarray], np.ndarray]


def _check_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(b) for b in bounds)
    if not low < high:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    return low, high


# ------------------------------------------------------------------------------------------ GP and EI


def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for minimization: how far below ``best - xi`` the GP expects f(x) to land, averaged over its belief.

    EI = (best - xi - mean) * Phi(z) + std * phi(z), with z = (best - xi - mean) / std. It is large where
    the mean is low (exploitation) or the uncertainty is high (exploration); ``xi`` > 0 favours the latter.
    Where std is 0 the GP is certain, and EI is just the sure improvement (or 0).
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    improvement = best - xi - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, improvement / std, 0.0)
    ei = improvement * norm.cdf(z) + std * norm.pdf(z)
    return np.where(std > 0, np.maximum(ei, 0.0), np.maximum(improvement, 0.0))


@dataclass
class GPStep:
    """One Bayesian-optimization step: what the GP believed, what EI said, and the point chosen next."""

    x_obs: np.ndarray
    y_obs: np.ndarray
    grid: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    ei: np.ndarray
    x_next: float

    @property
    def best(self) -> float:
        return float(self.y_obs.min())


def _fit_gp(x: np.ndarray, y: np.ndarray, bounds: tuple[float, float], seed: int):
    """A GP with a Matern-5/2 kernel on x scaled to [0, 1] and normalized y (scikit-optimize's defaults)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-2, 1e3)) * Matern(
        length_scale=0.2, length_scale_bounds=(1e-2, 10), nu=2.5
    )
    kernel += WhiteKernel(1e-6, (1e-9, 1e-2))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
    low, high = bounds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a noise level at its bound is fine here
        gp.fit(((x - low) / (high - low))[:, None], y)
    return gp


def gp_steps(
    objective: Objective1D,
    bounds: tuple[float, float],
    n_steps: int = 4,
    n_initial: int = 3,
    xi: float = 0.01,
    seed: int = 0,
    resolution: int = 400,
) -> list[GPStep]:
    """Run ``n_steps`` of GP + EI minimization on a 1-D ``objective``, after ``n_initial`` random points.

    Returns one ``GPStep`` per iteration (the belief *before* evaluating ``x_next``), so the steps can be
    drawn side by side. ``objective`` must accept a NumPy array. ``xi`` is in units of the observed
    values' standard deviation, so the same setting explores alike whatever the scale of f.
    """
    low, high = _check_bounds(bounds)
    if n_initial < 1 or n_steps < 1:
        raise ValueError(f"need n_initial >= 1 and n_steps >= 1, got {n_initial} and {n_steps}")
    rng = np.random.default_rng(seed)
    x_obs = rng.uniform(low, high, n_initial)
    y_obs = np.asarray(objective(x_obs), dtype=float)
    grid = np.linspace(low, high, resolution)
    steps = []
    for _ in range(n_steps):
        gp = _fit_gp(x_obs, y_obs, (low, high), seed)
        mean, std = gp.predict(((grid - low) / (high - low))[:, None], return_std=True)
        ei = expected_improvement(mean, std, best=float(y_obs.min()), xi=xi * float(np.std(y_obs) or 1.0))
        x_next = float(grid[int(np.argmax(ei))])
        steps.append(GPStep(x_obs.copy(), y_obs.copy(), grid, mean, std, ei, x_next))
        x_obs = np.append(x_obs, x_next)
        y_obs = np.append(y_obs, float(objective(np.array([x_next]))[0]))
    return steps


def plot_gp_steps(steps: Sequence[GPStep], objective: Objective1D | None = None, axes=None):
    """Draw each step as a column: the GP (mean +- 2 sd, observations, the true function) above its EI.

    The red dashed line marks where EI peaks: the point evaluated next. Returns the 2 x n array of axes.
    """
    if not steps:
        raise ValueError("steps is empty; compute them with gp_steps(...)")
    n = len(steps)
    if axes is None:
        fig, axes = plt.subplots(
            2, n, figsize=(3.2 * n, 4.8), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
        )
    axes = np.asarray(axes).reshape(2, n)
    for i, step in enumerate(steps):
        top, bottom = axes[0, i], axes[1, i]
        if objective is not None:
            top.plot(step.grid, objective(step.grid), color="0.4", ls="--", lw=1, label="true f(x)")
        top.plot(step.grid, step.mean, color="C0", lw=1.8, label="GP mean")
        top.fill_between(
            step.grid,
            step.mean - 2 * step.std,
            step.mean + 2 * step.std,
            color="C0",
            alpha=0.2,
            lw=0,
            label="mean ± 2 sd",
        )
        top.scatter(step.x_obs, step.y_obs, color="k", s=18, zorder=3, label="observed")
        top.axvline(step.x_next, color="C3", ls="--", lw=1)
        top.set_title(f"step {i + 1}: {len(step.x_obs)} points seen", fontsize=10)
        bottom.fill_between(step.grid, step.ei, color="C2", alpha=0.5, lw=0)
        bottom.plot(step.grid, step.ei, color="C2", lw=1.2)
        bottom.axvline(step.x_next, color="C3", ls="--", lw=1, label="next x (max EI)")
        bottom.set_xlabel("x")
        bottom.set_yticks([])
        if i == 0:
            top.set_ylabel("f(x)")
            bottom.set_ylabel("EI(x)")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[1, 0].legend(fontsize=7, loc="upper right")
    axes[0, 0].figure.tight_layout()
    return axes


# --------------------------------------------------------------------------------------------- TPE


@dataclass
class TPEDensities:
    """TPE's view of a 1-D study: the split of the trials, the two densities and their ratio on a grid."""

    grid: np.ndarray
    l: np.ndarray  # noqa: E741 - the name the TPE paper uses
    g: np.ndarray
    x_good: np.ndarray
    x_bad: np.ndarray
    threshold: float

    @property
    def ratio(self) -> np.ndarray:
        """l(x) / g(x): TPE proposes the candidate where this is largest (it is monotone in EI)."""
        return self.l / np.maximum(self.g, 1e-300)

    @property
    def x_next(self) -> float:
        return float(self.grid[int(np.argmax(self.ratio))])


def _parzen(
    points: np.ndarray, grid: np.ndarray, low: float, high: float, prior_weight: float = 1.0
) -> np.ndarray:
    """A Parzen (kernel) density on [low, high], built the way TPE builds its estimators.

    One Gaussian per point, as wide as the larger gap to its neighbours, clipped between
    ``(high - low) / min(100, n + 2)`` and ``high - low``, plus one wide "prior" Gaussian at the centre
    (weight ``prior_weight``), so no region ever gets density 0. Each kernel is renormalized to the bounds.
    """
    width = high - low
    mus = np.append(points, 0.5 * (low + high))
    if points.size:
        order = np.argsort(points)
        padded = np.r_[low, points[order], high]
        gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        if points.size >= 2:  # the end points use their inner neighbour, not the distance to the bound
            gaps[0], gaps[-1] = padded[2] - padded[1], padded[-2] - padded[-3]
        sigmas = np.empty_like(gaps)
        sigmas[order] = np.clip(gaps, width / min(100.0, points.size + 2.0), width)
    else:
        sigmas = np.empty(0)
    sigmas = np.append(sigmas, width)
    weights = np.append(np.ones(points.size), prior_weight)
    mass = norm.cdf(high, mus, sigmas) - norm.cdf(low, mus, sigmas)
    kernels = norm.pdf(grid[:, None], mus[None, :], sigmas[None, :]) / mass[None, :]
    return kernels @ weights / weights.sum()


def tpe_densities(
    x_obs: Sequence[float],
    y_obs: Sequence[float],
    bounds: tuple[float, float],
    gamma: float | None = None,
    resolution: int = 400,
) -> TPEDensities:
    """Split trials at the best ``gamma`` fraction (default as Optuna: 10 %, at least 1, at most 25 trials)
    and fit l(x) to the good ones, g(x) to the rest (minimization). A simplified TPE, for the picture.
    """
    low, high = _check_bounds(bounds)
    x = np.asarray(x_obs, dtype=float)
    y = np.asarray(y_obs, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"need two 1-D arrays of the same length >= 2, got shapes {x.shape} and {y.shape}")
    n_good = min(max(math.ceil(0.1 * x.size), 1), 25) if gamma is None else max(1, math.ceil(gamma * x.size))
    if n_good >= x.size:
        raise ValueError(f"gamma={gamma} puts all {x.size} trials in the good group; g(x) needs some left")
    order = np.argsort(y, kind="stable")
    good, bad = order[:n_good], order[n_good:]
    grid = np.linspace(low, high, resolution)
    return TPEDensities(
        grid=grid,
        l=_parzen(x[good], grid, low, high),
        g=_parzen(x[bad], grid, low, high),
        x_good=x[good],
        x_bad=x[bad],
        threshold=float(y[order[n_good - 1]]),
    )


def plot_tpe_densities(d: TPEDensities, objective: Objective1D | None = None, y_obs=None, axes=None):
    """Top: the trials, good (best gamma) vs the rest. Bottom: l(x), g(x) and their ratio (right axis).

    ``y_obs`` (the values of ``x_good`` then ``x_bad``, any order matching ``np.r_[x_good, x_bad]``) is only
    needed to place the points when ``objective`` is not given. Returns the axes (top, bottom, ratio).
    """
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [1.2, 1]})
    top, bottom = axes
    if objective is not None:
        top.plot(d.grid, objective(d.grid), color="0.4", ls="--", lw=1, label="f(x)")
        y_good, y_bad = objective(d.x_good), objective(d.x_bad)
    elif y_obs is not None:
        y_all = np.asarray(y_obs, dtype=float)
        y_good, y_bad = y_all[: d.x_good.size], y_all[d.x_good.size :]
    else:
        raise ValueError("give objective or y_obs so the trials can be placed")
    top.scatter(d.x_bad, y_bad, s=16, color="C1", label=f"rest ({d.x_bad.size}) -> g(x)")
    top.scatter(d.x_good, y_good, s=28, color="C0", marker="D", label=f"best ({d.x_good.size}) -> l(x)")
    top.axhline(d.threshold, color="0.5", lw=0.8, ls=":", label="split")
    top.set_ylabel("f(x)")
    top.legend(fontsize=8)
    bottom.plot(d.grid, d.l, color="C0", lw=2, label="l(x): good trials")
    bottom.plot(d.grid, d.g, color="C1", lw=2, label="g(x): the rest")
    bottom.set_ylabel("density")
    bottom.set_xlabel("x")
    ratio_ax = bottom.twinx()
    ratio_ax.plot(d.grid, d.ratio, color="C2", lw=1.2, ls="--", label="l(x) / g(x)")
    ratio_ax.axvline(d.x_next, color="C3", ls="--", lw=1, label="max ratio")
    ratio_ax.set_ylabel("l / g")
    lines = bottom.get_legend_handles_labels()
    more = ratio_ax.get_legend_handles_labels()
    bottom.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper right")
    top.figure.tight_layout()
    return top, bottom, ratio_ax
