"""Metric registry: each metric is a function of one comparison returning named scalar scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .space import Comparison

FAMILIES = ("fidelity", "utility", "privacy", "genomics")
ALL_MODALITIES = frozenset({"expression", "counts", "genotype"})


@dataclass(frozen=True)
class Direction:
    """How to read a score: ``higher``, ``lower``, ``target`` (closeness to ``target``;
    ``target=None`` means closeness to the real-holdout reference) or ``info`` (context shown
    beside the scores, such as a count of skipped items or a real-data baseline; never ranked)."""

    kind: str
    target: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("higher", "lower", "target", "info"):
            raise ValueError(f"direction must be higher, lower, target or info, got {self.kind!r}")
        if self.kind != "target" and self.target is not None:
            raise ValueError(f"direction {self.kind!r} takes no target value")

    def as_dict(self) -> dict[str, Any]:
        return {"direction": self.kind, "target": self.target}


HIGHER = Direction("higher")
LOWER = Direction("lower")
INFO = Direction("info")


def target(value: float | None = None) -> Direction:
    """Closer to ``value`` is better; ``None`` means closer to the reference."""
    return Direction("target", None if value is None else float(value))


MetricFn = Callable[["Comparison"], dict[str, float]]


class NotApplicable(ValueError):
    """A metric that does not apply to these data (e.g. zero fractions of data that are not count-like).

    Records list these under ``metric_not_applicable``, apart from real failures; pages show "n/a"."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    family: str
    modalities: frozenset[str]
    scores: dict[str, Direction]
    fn: MetricFn
    description: str


REGISTRY: dict[str, MetricSpec] = {}


def register_metric(
    name: str,
    family: str,
    modalities: frozenset[str] | set[str] | tuple[str, ...] = ALL_MODALITIES,
    scores: dict[str, Direction] | None = None,
) -> Callable[[MetricFn], MetricFn]:
    """Decorator registering ``fn(comparison) -> {score_name: value}``; score names are globally unique."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    mods = frozenset(modalities)
    if not mods or not mods <= ALL_MODALITIES:
        raise ValueError(
            f"modalities must be a non-empty subset of {sorted(ALL_MODALITIES)}, got {sorted(mods)}"
        )
    if not scores:
        raise ValueError(f"metric {name!r} declares no scores")

    def decorator(fn: MetricFn) -> MetricFn:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        taken = {s for spec in REGISTRY.values() for s in spec.scores}
        clash = taken & set(scores)
        if clash:
            raise ValueError(f"metric {name!r}: score names already used: {sorted(clash)}")
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = MetricSpec(name, family, mods, dict(scores), fn, doc[0] if doc else "")
        return fn

    return decorator


def metrics_for(modality: str | None = None) -> list[MetricSpec]:
    """Registered metrics (all families loaded) applicable to ``modality`` (all if None)."""
    from . import expression, fidelity, genomics, inference, privacy, utility  # noqa: F401  (registration side effects)

    return [s for s in REGISTRY.values() if modality is None or modality in s.modalities]


def list_metrics(modality: str | None = None) -> list[dict[str, Any]]:
    """JSON-ready description of the registered metrics."""
    return [
        {
            "name": s.name,
            "family": s.family,
            "modalities": sorted(s.modalities),
            "scores": {k: d.as_dict() for k, d in s.scores.items()},
            "description": s.description,
        }
        for s in metrics_for(modality)
    ]
