"""SkoptSampler: Optuna sampling with scikit-optimize (GP, ET, RF or GBRT surrogates)."""

from .sampler import from_skopt_value
from .sampler import QuantileGBRTRegressor
from .sampler import SkoptSampler
from .sampler import to_skopt_dimension
from .sampler import to_skopt_value


__all__ = [
    "QuantileGBRTRegressor",
    "SkoptSampler",
    "from_skopt_value",
    "to_skopt_dimension",
    "to_skopt_value",
]
