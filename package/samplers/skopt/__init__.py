"""SkoptSampler for OptunaHub: Optuna sampling with scikit-optimize (GP, ET, RF or GBRT surrogates)."""

# GENERATED from tutorial_utils/samplers.py by tools/make_optunahub_package.py: do not edit here,
# edit tutorial_utils/samplers.py and run `python tools/make_optunahub_package.py`.
from .sampler import (
    IndependentSamplingWarning,
    QuantileGBRTRegressor,
    SkoptSampler,
    from_skopt_value,
    to_skopt_dimension,
    to_skopt_value,
)

__all__ = [
    "IndependentSamplingWarning",
    "QuantileGBRTRegressor",
    "SkoptSampler",
    "from_skopt_value",
    "to_skopt_dimension",
    "to_skopt_value",
]
