"""Metrics for synthetic omics data: registry, evaluation context and the four metric families.

Importing this package loads numpy only; scipy and scikit-learn are imported when a metric runs.
"""

from .base import HIGHER, LOWER, REGISTRY, Direction, list_metrics, register_metric, target
from .space import Comparison, EvalContext, SplitData

__all__ = [
    "HIGHER",
    "LOWER",
    "REGISTRY",
    "Comparison",
    "Direction",
    "EvalContext",
    "SplitData",
    "list_metrics",
    "register_metric",
    "target",
]
