"""Plots for designing a search space: where the best trials sit in each range, whether more trials would
help, and the isolation plot of a scientific hyperparameter.

The numbers come from ``tutorial_utils.space`` (``boundary_flags``, ``bootstrap_best_so_far``, ``isolation``),
so a notebook can print what a plot shows and a test can check the plot against them.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, FloatDistribution

from ..curves import Direction
from ..space import Trials, boundary_flags, position, ranked, trials_and_direction

EDGE_COLOR = "C3"


def plot_boundary(
    trials: Trials,
    distributions: Mapping[str, BaseDistribution] | None = None,
    flags: pd.DataFrame | None = None,
    direction: Direction | None = None,
    top: int | float = 10,
    edge: float = 0.05,
    ax=None,
):
    """Each numeric hyperparameter's range as a bar in its own scale ([0, 1], log params in log space): every
    trial that set it as a faint dot, its top trials highlighted, the best a star, flagged params labelled.

    ``flags`` is ``space.boundary_flags``'s frame (computed here from ``distributions``, ``direction``, ``top``
    and ``edge`` when None); its ``n_top`` says how many trials are highlighted per param, so the picture and
    the table agree. The first param is the top row. Returns the axes.
    """
    trial_list, direction = trials_and_direction(trials, direction)
    if flags is None:
        flags = boundary_flags(trial_list, distributions, direction=direction, top=top, edge=edge)
    edge = flags.attrs.get("edge", edge)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.8 + 0.7 * max(len(flags), 1)))
    best_first = ranked(trial_list, direction)
    dots, tops, bests = [], [], []
    n_rows = len(flags)
    for i, row in enumerate(flags.itertuples(index=False)):
        y = n_rows - 1 - i
        dist = FloatDistribution(row.low, row.high, log=bool(row.log))
        dots += [(position(t.params[row.param], dist, row.param), y) for t in trial_list if row.param in t.params]
        chosen = [t for t in best_first if row.param in t.params][: int(row.n_top)]
        tops += [(position(t.params[row.param], dist, row.param), y) for t in chosen]
        bests.append((position(chosen[0].params[row.param], dist, row.param), y))
        if row.flag:
            ax.annotate(row.flag, xy=bests[-1], xytext=(0, 9), textcoords="offset points", ha="center",
                        fontsize=8, color=EDGE_COLOR, fontweight="bold")
    ax.barh(range(n_rows), 1.0, left=0.0, height=0.5, color="0.92", edgecolor="0.6", zorder=0)
    for lo, hi in ((0.0, edge), (1.0 - edge, 1.0)):
        ax.axvspan(lo, hi, color=EDGE_COLOR, alpha=0.08, lw=0, zorder=0)
    k = int(flags["n_top"].max()) if n_rows else 0
    for points, style in (
        (dots, dict(s=14, color="0.45", alpha=0.35, lw=0, label=f"all trials ({len(trial_list)})")),
        (tops, dict(s=34, color="C1", edgecolor="black", linewidth=0.5, label=f"top {k} completed")),
        (bests, dict(s=180, marker="*", color=EDGE_COLOR, edgecolor="black", linewidth=0.6, label="best")),
    ):
        xy = np.array(points, dtype=float).reshape(-1, 2)
        ax.scatter(xy[:, 0], xy[:, 1], zorder=3, **style)
    ax.set_yticks(range(n_rows))
    labels = [
        f"{r.param}{' (log)' if r.log else ''}\n[{r.low:.3g}, {r.high:.3g}]" for r in flags.itertuples(index=False)
    ]
    ax.set_yticklabels(labels[::-1])
    for tick, flag in zip(ax.get_yticklabels(), flags["flag"].to_list()[::-1], strict=True):
        if flag:
            tick.set_color(EDGE_COLOR)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.set_xlabel("position in the range (0 = low, 1 = high; log params in log space)")
    ax.set_title(f"Where the best trials sit ({direction}; shaded: within {edge:.0%} of an end)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_bootstrap_best(frame: pd.DataFrame, ax=None, label: str | None = None, color: str = "C0",
                        log_x: bool = False):
    """``space.bootstrap_best_so_far``'s frame: the median best of n trials as a line, 5-95 % as a band.

    A line that flattens means more trials of this search would rarely help. Returns the axes.
    """
    missing = [c for c in ("n_trials", "median", "p5", "p95") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}; pass space.bootstrap_best_so_far's frame")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    n = frame["n_trials"].to_numpy(dtype=float)
    ax.fill_between(n, frame["p5"].to_numpy(dtype=float), frame["p95"].to_numpy(dtype=float), color=color,
                    alpha=0.2, lw=0, label="5-95 % of draws")
    ax.plot(n, frame["median"].to_numpy(dtype=float), "o-", color=color, lw=2, ms=4, label=label or "median")
    if log_x:
        ax.set_xscale("log")
    draws = frame.attrs.get("n_boot")
    ax.set_xlabel("trials in the search (n)")
    ax.set_ylabel("best value of n trials")
    ax.set_title("Have we sampled enough?" + (f" ({draws} bootstrap draws per n)" if draws else ""), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_isolation(frame: pd.DataFrame, ax=None, color: str = "C0"):
    """``space.isolation``'s frame: the best value per value of the scientific hyperparameter, with its count.

    Numeric values (e.g. a weight decay) are joined by a line in their order; other values (an optimizer's
    name) stand side by side in the frame's order (best first). Each point is labelled with its trials.
    Returns the axes.
    """
    if "best_value" not in frame.columns or "n_trials" not in frame.columns:
        raise ValueError(f"frame lacks best_value/n_trials (columns: {list(frame.columns)}); pass space.isolation's")
    scientific = frame.columns[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    if pd.api.types.is_numeric_dtype(frame[scientific]):
        frame = frame.sort_values(scientific)
        x = frame[scientific].to_numpy(dtype=float)
        ax.plot(x, frame["best_value"].to_numpy(dtype=float), "o-", color=color, lw=1.5)
    else:
        x = np.arange(len(frame), dtype=float)
        ax.plot(x, frame["best_value"].to_numpy(dtype=float), "o", color=color, ms=9)
        ax.set_xticks(x)
        ax.set_xticklabels([str(v) for v in frame[scientific]])
        ax.set_xlim(-0.5, len(frame) - 0.5)
    for xi, best, n in zip(x, frame["best_value"], frame["n_trials"], strict=True):
        if pd.notna(best):
            ax.annotate(f"n={n}", xy=(xi, best), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=8)
    ax.margins(y=0.15)  # room for the count labels
    ax.set_xlabel(scientific)
    ax.set_ylabel("best value (nuisance params tuned)")
    ax.set_title(f"Isolation plot: best per {scientific}", fontsize=10)
    ax.grid(alpha=0.3)
    return ax
