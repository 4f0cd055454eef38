"""Matplotlib plots the notebooks share, one submodule per topic (search, faces, bayes, ...).

Import from the submodule, e.g. ``from tutorial_utils.plotting.faces import plot_face_grid``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def optuna_style_kept() -> Iterator[None]:
    """Draw Optuna's matplotlib plots inside this block so they cannot restyle the figures after them.

    Most functions in ``optuna.visualization.matplotlib`` call ``plt.style.use("ggplot")``, which changes
    matplotlib's global rcParams for the rest of the session. Inside this block the Optuna figure still gets
    its ggplot look; on exit every rcParam is restored. Call ``plt.show()`` inside the block, so the figure is
    drawn while its style is active.
    """
    import matplotlib

    with matplotlib.rc_context():
        yield
