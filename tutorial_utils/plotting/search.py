"""Plots for comparing searches: traces over a 2-D contour, best-so-far with bands, trial logs, marginals.

The statistics behind the bands are computed by ``summarize_best_so_far`` (pure NumPy), so a notebook can
print the same numbers a plot shows, and tests can check the plot against them.

Typical use::

    curves = {"random": [values_seed0, values_seed1, ...], "grid": [...]}
    plot_best_so_far_bands(curves, direction="minimize", band="iqr")          # x = trial number
    plot_best_so_far_bands(curves, x=elapsed_seconds, xlabel="wall time (s)")  # x = per-run wall times
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np

from ..curves import Direction, best_so_far, check_direction
from ..toys import Bounds

Band = Literal["iqr", "sd", "minmax"]
Runs = Sequence[Sequence[float] | np.ndarray]

# -------------------------------------------------------------------------------- best so far with bands


@dataclass
class BestSoFarSummary:
    """One method's best-so-far curves over runs: x, the centre line, the band, and the aligned runs.

    ``curves`` has one row per run (NaN where the run has no finished trial yet at that x).
    ``center`` is the median for ``band`` "iqr"/"minmax" and the mean for "sd".
    """

    x: np.ndarray
    center: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    curves: np.ndarray
    band: str | None

    @property
    def final(self) -> np.ndarray:
        """Each run's best value at the last x (what a search ends with)."""
        return self.curves[:, -1]


def _step_at(x_run: np.ndarray, best_run: np.ndarray, x_grid: np.ndarray) -> np.ndarray:
    """Value of a best-so-far step function at ``x_grid``: the best among trials finished by then."""
    idx = np.searchsorted(x_run, x_grid, side="right") - 1
    out = np.full(x_grid.shape, np.nan)
    ok = idx >= 0
    out[ok] = best_run[idx[ok]]
    return out


def summarize_best_so_far(
    runs: Runs,
    direction: Direction = "minimize",
    x: Sequence[float] | np.ndarray | Runs | None = None,
    band: Band | None = "iqr",
) -> BestSoFarSummary:
    """Best-so-far curve per run, aligned on a common x, and their centre and spread.

    ``runs``: one sequence of trial values per run (seed), in the order the trials were paid for; NaN for
    trials without a value. Runs may have different lengths.
    ``x``: None -> trial number 1..n (a shorter run keeps its final best to the end). One sequence ->
    shared x for every run (same length as the longest run). A list with one sequence per run (e.g.
    seconds since the run started) -> each run is sorted by its own x and read as a step function on the
    union of all x values; before a run's first trial it is NaN and left out of the statistics.
    ``band``: "iqr" = median with 25-75 % quantiles, "sd" = mean +- one standard deviation, "minmax" =
    median with min and max, None = median only.
    """
    check_direction(direction)
    if band not in ("iqr", "sd", "minmax", None):
        raise ValueError(f"band must be 'iqr', 'sd', 'minmax' or None, not {band!r}")
    runs = [np.asarray(r, dtype=float) for r in runs]
    if not runs or any(r.ndim != 1 or r.size == 0 for r in runs):
        raise ValueError(
            "runs must be a non-empty list of non-empty 1-D arrays of trial values (one per seed)"
        )

    per_run_x = x is not None and len(x) == len(runs) and all(np.ndim(xi) == 1 for xi in x)
    if x is None or not per_run_x:
        n = max(len(r) for r in runs)
        grid = np.arange(1, n + 1, dtype=float) if x is None else np.asarray(x, dtype=float)
        if grid.shape != (n,):
            raise ValueError(
                f"x has {grid.size} values but the longest run has {n} trials; give one x per trial"
            )
        curves = np.full((len(runs), n), np.nan)
        for i, r in enumerate(runs):
            b = best_so_far(r, direction)
            curves[i, : len(b)] = b
            curves[i, len(b) :] = b[-1]
    else:
        xs = [np.asarray(xi, dtype=float) for xi in x]
        for i, (xi, r) in enumerate(zip(xs, runs, strict=True)):
            if xi.shape != r.shape:
                raise ValueError(
                    f"run {i}: {xi.size} x values for {r.size} trial values; give one x per trial"
                )
        grid = np.unique(np.concatenate([xi[np.isfinite(xi)] for xi in xs]))
        curves = np.full((len(runs), grid.size), np.nan)
        for i, (xi, r) in enumerate(zip(xs, runs, strict=True)):
            keep = np.isfinite(xi)
            order = np.argsort(xi[keep], kind="stable")
            curves[i] = _step_at(xi[keep][order], best_so_far(r[keep][order], direction), grid)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns before any run has a value
        if band == "sd":
            center = np.nanmean(curves, axis=0)
            sd = np.nanstd(curves, axis=0)
            low, high = center - sd, center + sd
        else:
            center = np.nanmedian(curves, axis=0)
            if band == "iqr":
                low, high = np.nanquantile(curves, 0.25, axis=0), np.nanquantile(curves, 0.75, axis=0)
            elif band == "minmax":
                low, high = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            else:
                low = high = None
    return BestSoFarSummary(x=grid, center=center, low=low, high=high, curves=curves, band=band)


def _extend_last_step(x: np.ndarray) -> np.ndarray:
    """x plus one more point, one typical spacing on, so the last value gets a visible step like the others."""
    gap = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    return np.r_[x, x[-1] + (gap if gap > 0 else 1.0)]


_BAND_LABEL = {"iqr": "median, 25-75 %", "sd": "mean ± 1 sd", "minmax": "median, min-max", None: "median"}


def plot_best_so_far_bands(
    curves: Mapping[str, Runs],
    x: Mapping[str, Sequence[float] | Runs] | Sequence[float] | None = None,
    direction: Direction = "minimize",
    ax=None,
    band: Band | None = "iqr",
    show_runs: bool = False,
    log_y: bool = False,
    xlabel: str | None = None,
    ylabel: str = "best value so far",
    colors: Mapping[str, str] | None = None,
):
    """One centre line and a shaded band per method: how good a search is after k trials, over seeds.

    ``curves`` maps a method name to its runs (one array of trial values per seed, as in
    ``summarize_best_so_far``; raw values, not yet accumulated). ``x`` is None (trial number), one shared
    sequence, or a mapping from method name to its per-run x (e.g. cumulative CPU seconds per seed,
    for best-so-far against compute). ``show_runs`` adds each run as a thin line. Each value is drawn as a
    step that holds until the next x (the last one for one typical spacing). Returns the axes; the
    centre line of method ``m`` carries the label ``m``; ``summarize_best_so_far`` gives its numbers.
    """
    if not curves:
        raise ValueError("curves is empty; pass e.g. {'random': [values_seed0, values_seed1]}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    if isinstance(x, Mapping) and set(x) != set(curves):
        raise ValueError(
            f"x has entries for {sorted(x)} but curves for {sorted(curves)}; give x for every method"
        )
    for i, (name, runs) in enumerate(curves.items()):
        x_m = x[name] if isinstance(x, Mapping) else x
        s = summarize_best_so_far(runs, direction=direction, x=x_m, band=band)
        color = (colors or {}).get(name, f"C{i}")
        x_drawn = _extend_last_step(s.x)
        if show_runs:
            for row in s.curves:
                ax.step(x_drawn, np.r_[row, row[-1]], where="post", color=color, alpha=0.25, lw=0.8)
        ax.step(x_drawn, np.r_[s.center, s.center[-1]], where="post", color=color, lw=2, label=name)
        if s.low is not None:
            ax.fill_between(
                x_drawn,
                np.r_[s.low, s.low[-1]],
                np.r_[s.high, s.high[-1]],
                step="post",
                color=color,
                alpha=0.2,
                lw=0,
            )
    if log_y:
        ax.set_yscale("log")
    n_runs = {len(r) for r in curves.values()}
    runs_text = f"{n_runs.pop()} runs each" if len(n_runs) == 1 else "runs per method vary"
    ax.set_xlabel(xlabel or ("trial" if x is None else "x"))
    ax.set_ylabel(ylabel)
    ax.set_title(f"Best so far ({direction}): {_BAND_LABEL[band]}, {runs_text}", fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


# ----------------------------------------------------------------------------------- contour and traces


def _mesh(func: Callable, bounds: Bounds, resolution: int):
    if len(bounds) != 2:
        raise ValueError(f"a contour needs exactly 2 axes in bounds, got {list(bounds)}")
    (lo1, hi1), (lo2, hi2) = bounds.values()
    g1, g2 = np.meshgrid(np.linspace(lo1, hi1, resolution), np.linspace(lo2, hi2, resolution))
    return g1, g2, np.asarray(func(g1, g2), dtype=float)


def plot_contour(
    func: Callable,
    bounds: Bounds,
    ax=None,
    resolution: int = 200,
    levels: int = 30,
    log_levels: bool = False,
    cmap: str = "viridis",
):
    """Filled contour of a vectorised 2-D ``func(a, b)`` over ``bounds`` (axis labels from the names)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    g1, g2, z = _mesh(func, bounds, resolution)
    if log_levels:
        z = np.log10(z - z.min() + 1e-3)
    cs = ax.contourf(g1, g2, z, levels=levels, cmap=cmap, alpha=0.85)
    names = list(bounds)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(*bounds[names[0]])
    ax.set_ylim(*bounds[names[1]])
    return ax, cs


_MARKERS = ("o", "s", "^", "D", "v", "P")


def plot_search_trace(
    func: Callable,
    bounds: Bounds,
    points: np.ndarray | Mapping[str, np.ndarray],
    ax=None,
    direction: Direction = "minimize",
    annotate_order: bool = False,
    log_levels: bool = False,
    resolution: int = 200,
):
    """Where a search put its trials, over the contour of the 2-D objective ``func``.

    ``points`` is an (n, 2) array, or a mapping from method name to its (n, 2) array to overlay several
    searches. Each method's best point (by ``func``) gets a star; ``annotate_order`` numbers the trials.
    Returns the axes.
    """
    check_direction(direction)
    ax, _ = plot_contour(func, bounds, ax=ax, resolution=resolution, log_levels=log_levels)
    traces = points if isinstance(points, Mapping) else {"trials": points}
    for i, (name, pts) in enumerate(traces.items()):
        pts = np.asarray(pts, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"points for {name!r} must have shape (n, 2), got {pts.shape}")
        color = f"C{(i + 1) % 10}"
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            marker=_MARKERS[i % len(_MARKERS)],
            s=30,
            color=color,
            edgecolor="white",
            linewidth=0.6,
            label=f"{name} ({len(pts)})",
            zorder=3,
        )
        values = np.asarray(func(pts[:, 0], pts[:, 1]), dtype=float)
        best = int(np.nanargmin(values) if direction == "minimize" else np.nanargmax(values))
        ax.scatter(
            pts[best, 0],
            pts[best, 1],
            marker="*",
            s=260,
            color=color,
            edgecolor="black",
            linewidth=0.8,
            zorder=4,
            label=f"best of {name}: {values[best]:.3g}",
        )
        if annotate_order:
            for k, (a, b) in enumerate(pts, start=1):
                ax.annotate(
                    str(k), (a, b), fontsize=7, xytext=(3, 3), textcoords="offset points", color="white"
                )
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    return ax


def plot_marginals(
    points: np.ndarray,
    bounds: Bounds,
    f_x: Callable | None = None,
    f_y: Callable | None = None,
    func: Callable | None = None,
    fig=None,
    title: str | None = None,
    color: str = "C1",
) -> dict:
    """A 2-D search with its marginals (the Bergstra & Bengio 2012 picture): main panel plus top and right.

    The main panel shows ``points`` (over the contour of ``func`` if given). The top panel draws ``f_x``,
    the objective's dependence on the first axis, with a marker at every distinct value the search tried;
    the right panel does the same for ``f_y`` on the second axis. A grid tries few distinct values per
    axis; random search tries a new value of every axis in every trial. ``fig`` may be a Figure or a
    SubFigure (to put two pictures side by side). Returns {"main", "top", "right"} axes.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if fig is None:
        fig = plt.figure(figsize=(5.5, 5.5))
    gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05, hspace=0.05)
    main = fig.add_subplot(gs[1, 0])
    top = fig.add_subplot(gs[0, 0], sharex=main)
    right = fig.add_subplot(gs[1, 1], sharey=main)
    names = list(bounds)
    (lo1, hi1), (lo2, hi2) = bounds.values()
    if func is not None:
        plot_contour(func, bounds, ax=main, resolution=150)
    main.scatter(
        points[:, 0],
        points[:, 1],
        s=35,
        color=color,
        edgecolor="black",
        linewidth=0.6,
        zorder=3,
        clip_on=False,
    )
    main.set_xlim(lo1, hi1)
    main.set_ylim(lo2, hi2)
    main.set_xlabel(names[0])
    main.set_ylabel(names[1])
    ux, uy = np.unique(points[:, 0]), np.unique(points[:, 1])
    if f_x is not None:
        xs = np.linspace(lo1, hi1, 400)
        top.plot(xs, f_x(xs), color="black", lw=1)
        top.plot(ux, f_x(ux), "o", color=color, markeredgecolor="black", label="tried")
    if f_y is not None:
        ys = np.linspace(lo2, hi2, 400)
        right.plot(f_y(ys), ys, color="black", lw=1)
        right.plot(f_y(uy), uy, "o", color=color, markeredgecolor="black", label="tried")
    top.set_title(f"{len(ux)} distinct {names[0]} values tried", fontsize=9)
    right.set_xlabel(f"{len(uy)} distinct\n{names[1]}", fontsize=9)
    top.tick_params(labelbottom=False)
    right.tick_params(labelleft=False)
    if title:
        fig.suptitle(title)
    return {"main": main, "top": top, "right": right}


# ------------------------------------------------------------------------------------------- trial logs


def plot_trial_log(
    log,
    score: str,
    direction: Direction = "minimize",
    params: Iterable[str] | None = None,
    log_params: Iterable[str] = (),
    ranges: Mapping[str, tuple[float, float]] | None = None,
    fig=None,
):
    """A trial log (DataFrame, one row per try, in order) as: score per trial with the best so far, then
    one panel per hyperparameter (value tried vs score, coloured by trial order).

    This is what a notebook of manual tries amounts to; the panels show which values were never explored,
    most clearly when ``ranges`` (name -> (low, high)) sets each panel's x axis to the plausible range.
    ``log_params`` get a log-scaled x axis. Returns the figure (axes in ``fig.axes``, score panel first).
    """
    check_direction(direction)
    if score not in log.columns:
        raise ValueError(f"the trial log has no column {score!r}; its columns are {list(log.columns)}")
    params = list(params) if params is not None else [c for c in log.columns if c != score]
    missing = [p for p in params if p not in log.columns]
    if missing:
        raise ValueError(f"the trial log has no column(s) {missing}; its columns are {list(log.columns)}")
    log_params = set(log_params)
    if fig is None:
        fig = plt.figure(figsize=(3.4 * (1 + len(params)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(params), squeeze=False)[0]
    trial = np.arange(1, len(log) + 1)
    values = log[score].to_numpy(dtype=float)
    ax = axes[0]
    ax.plot(trial, values, "o", color="C0", label="try")
    ax.step(trial, best_so_far(values, direction), where="post", color="C3", lw=2, label="best so far")
    ax.set_xlabel("try")
    ax.set_ylabel(score)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, name in zip(axes[1:], params, strict=True):
        sc = ax.scatter(log[name], values, c=trial, cmap="viridis", edgecolor="black", linewidth=0.4)
        if name in log_params:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
        if ranges and name in ranges:
            ax.set_xlim(*ranges[name])
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    if params:
        fig.colorbar(sc, ax=list(axes[1:]), label="try number", fraction=0.05)
    return fig
