"""Best-so-far curves: the best value a search has seen after each trial, for minimising or maximising.

One home for the curve every search comparison plots (``plotting.search``), the face studies' records
(``records``) and the search notebooks use, with the check of a ``direction`` argument they all share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Direction = Literal["minimize", "maximize"]
DIRECTIONS: tuple[Direction, ...] = ("minimize", "maximize")


def check_direction(direction: str) -> None:
    """Raise ``ValueError`` unless ``direction`` is "minimize" or "maximize" (Optuna's spelling)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'minimize' or 'maximize', not {direction!r}")


def best_so_far(values: Sequence[float] | np.ndarray, direction: Direction = "minimize") -> np.ndarray:
    """The best value seen up to and including each trial: ``np.fmin.accumulate`` (or fmax) of ``values``.

    NaN marks a trial without a value (pruned, failed): it never becomes the best, the curve keeps the
    previous best, and it stays NaN only until the first real value. The result is monotone, which is
    what makes best-so-far curves of different searches comparable.
    """
    check_direction(direction)
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"best_so_far expects a 1-D sequence of trial values, got shape {arr.shape}")
    if arr.size == 0:
        return arr.copy()
    ufunc = np.fmin if direction == "minimize" else np.fmax
    return ufunc.accumulate(arr)
