"""Toy objectives and search bookkeeping shared by the search notebooks (01-04, 07).

The toy functions are cheap, vectorised NumPy functions, so a notebook can evaluate thousands of searches
in a second and show *distributions* of outcomes rather than one lucky run. The grid helpers build the exact
Cartesian product of axes. The best-so-far curve of a list of trial values lives in ``tutorial_utils.curves``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Bounds = Mapping[str, tuple[float, float]]

# ------------------------------------------------------------------------------------------- objectives


def quadratic(*coords, center: float = 2.0):
    """``sum((c - center)**2)`` over the coordinates: the course's seed example ``(x - 2)**2`` in 1-D.

    Works on scalars and NumPy arrays alike (broadcasting), so it can be called per trial or on a mesh.
    The minimum is 0 at ``c == center`` for every coordinate.
    """
    if not coords:
        raise ValueError("quadratic() needs at least one coordinate, e.g. quadratic(x) or quadratic(x, y)")
    return sum((np.asarray(c, dtype=float) - center) ** 2 for c in coords)


BRANIN_BOUNDS: dict[str, tuple[float, float]] = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
BRANIN_MINIMUM = 5.0 / (4.0 * math.pi)  # ~0.397887: the cosine term at -1, the squared term at 0
BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (3.0 * math.pi, 2.475))


def branin(x1, x2):
    """The Branin-Hoo function on ``BRANIN_BOUNDS``: three global minima of ``BRANIN_MINIMUM`` (~0.3979).

    A standard 2-D benchmark: smooth, cheap, with a curved valley, so search traces over its contour show
    how a method spends its trials.
    """
    x1 = np.asarray(x1, dtype=float)
    x2 = np.asarray(x2, dtype=float)
    a, b, c = 1.0, 5.1 / (4.0 * math.pi**2), 5.0 / math.pi
    r, s, t = 6.0, 10.0, 1.0 / (8.0 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1.0 - t) * np.cos(x1) + s


LOW_EFF_DIM_BOUNDS: dict[str, tuple[float, float]] = {"important": (0.0, 1.0), "unimportant": (0.0, 1.0)}
LOW_EFF_DIM_ARGMIN_X = 0.71  # where the important axis has its narrow global dip


def important_axis(x):
    """The part of ``low_effective_dim`` that matters: a narrow dip at 0.71 and a shallow decoy at 0.22.

    The dip sits between the points a coarse grid tries (0, 0.5, 1), which is the point of the lesson.
    """
    x = np.asarray(x, dtype=float)
    return (
        1.0
        - 0.9 * np.exp(-(((x - LOW_EFF_DIM_ARGMIN_X) / 0.09) ** 2))
        - 0.35 * np.exp(-(((x - 0.22) / 0.12) ** 2))
    )


def unimportant_axis(y):
    """The part of ``low_effective_dim`` that barely matters: a ripple of height 0.05."""
    y = np.asarray(y, dtype=float)
    return 0.025 * (1.0 + np.sin(3.0 * math.pi * y))


def low_effective_dim(x, y):
    """``important_axis(x) + unimportant_axis(y)`` on the unit square (minimise).

    Bergstra & Bengio (2012): most objectives depend strongly on few of their inputs. Here the first input
    moves f by ~0.9 and the second by 0.05, so f is effectively 1-D; a grid spends most trials re-testing
    the same few values of the axis that matters.
    """
    return important_axis(x) + unimportant_axis(y)


# ------------------------------------------------------------------------------------------------- grids


def _check_axes(axes: Mapping[str, Sequence[Any]]) -> None:
    if not axes:
        raise ValueError("a grid needs at least one axis, e.g. {'learning_rate': [0.01, 0.1]}")
    for name, values in axes.items():
        if len(values) == 0:
            raise ValueError(f"grid axis {name!r} has no values; give it at least one value to try")


def product_grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the axes' values (their Cartesian product) as a list of parameter dicts.

    Order is ``itertools.product`` order: the LAST axis changes fastest. The length is the product of the
    axis lengths, which is why grids explode with the number of hyperparameters.
    """
    _check_axes(axes)
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def grid_size(axes: Mapping[str, Sequence[Any]]) -> int:
    """How many trials the full grid over ``axes`` costs (the product of the axis lengths)."""
    _check_axes(axes)
    return math.prod(len(v) for v in axes.values())


def grid_array(axes: Mapping[str, Sequence[float]]) -> np.ndarray:
    """The product grid as a float array of shape (grid_size, n_axes), columns in ``axes`` order."""
    points = product_grid(axes)
    return np.array([[p[name] for name in axes] for p in points], dtype=float)


def _check_bounds(bounds: Bounds) -> None:
    if not bounds:
        raise ValueError("bounds need at least one axis, e.g. {'x': (0.0, 1.0)}")
    for name, (low, high) in bounds.items():
        if not low < high:
            raise ValueError(
                f"bounds for {name!r} are ({low}, {high}); the lower bound must be below the upper"
            )


def linspace_axes(bounds: Bounds, resolution: int | Mapping[str, int]) -> dict[str, np.ndarray]:
    """Evenly spaced values per axis, ends included (``np.linspace``), as a grid search would choose them.

    ``resolution`` is the number of values per axis, one int for all or a mapping per axis name.
    """
    _check_bounds(bounds)
    axes = {}
    for name, (low, high) in bounds.items():
        n = resolution[name] if isinstance(resolution, Mapping) else resolution
        if int(n) < 1:
            raise ValueError(f"resolution for {name!r} is {n}; use at least 1 value per axis")
        axes[name] = np.linspace(low, high, int(n))
    return axes


def uniform_points(bounds: Bounds, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """``n`` points drawn uniformly inside ``bounds``: shape (n, n_axes), columns in ``bounds`` order.

    ``seed`` makes the draw reproducible: the same seed gives the same points, on any machine.
    """
    _check_bounds(bounds)
    rng = np.random.default_rng(seed)
    low = np.array([b[0] for b in bounds.values()], dtype=float)
    high = np.array([b[1] for b in bounds.values()], dtype=float)
    return low + (high - low) * rng.random((int(n), len(low)))
