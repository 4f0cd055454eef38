"""SkoptSampler: an Optuna sampler backed by scikit-optimize, with the removed integration's constructor.

Its code has one home, the OptunaHub package ``package/samplers/skopt_sampler/`` (the registry's layout, checked with
the registry's own lint settings). The wheel and the editable install ship that folder as
``tutorial_utils.optunahub_skopt`` (pyproject.toml's ``package-dir``); this module re-exports it, so the
course's ``from tutorial_utils.samplers import SkoptSampler`` and ``optunahub.load_module("samplers/skopt_sampler")``
run the same code.
"""

from __future__ import annotations

from tutorial_utils.optunahub_skopt.sampler import (
    QuantileGBRTRegressor,
    SkoptSampler,
    from_skopt_value,
    to_skopt_dimension,
    to_skopt_value,
)

__all__ = ["QuantileGBRTRegressor", "SkoptSampler", "from_skopt_value", "to_skopt_dimension", "to_skopt_value"]
