"""Hyperparameter overrides from the command line: ``--hparam KEY=VALUE`` and ``--hparam GENERATOR.KEY=VALUE``.

Values are read with :func:`ast.literal_eval` (``8000``, ``1e-3``, ``(128, 256)``, ``128,256``, ``None``,
``True``), falling back to the text itself (``path/to/file.tsv``), and checked against the type of the
budget's default: a bool only for a bool, an integer (not an integral float) for an int, an int or a
float for a float, a tuple of such elements for a tuple (one number is a 1-tuple), a string (or
True/False) for a string; a default of None accepts anything. An unscoped key applies to every selected generator whose
budget has it; ``GENERATOR.KEY`` to that generator only, and wins over an unscoped value of the key.

Overrides are part of a job's identity: a generator run with overrides is a *variant* with its own
label (:func:`variant_name`, e.g. ``wgan-gp [lr=0.001, steps=8000]``), record folder and leaderboard row.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmark.errors import ConfigError

OPTION = "--hparam"


@dataclass(frozen=True)
class Override:
    """One ``--hparam`` item: an optional generator scope, the key, the parsed value and the raw text."""

    scope: str | None  # generator name, or None for every selected generator that has the key
    key: str
    value: Any  # parsed with ast.literal_eval, else the text itself
    text: str  # the value as typed (kept for string settings)
    item: str  # the whole item, for messages

    @property
    def where(self) -> str:
        return f"{OPTION} {self.item}"


def parse_value(text: str) -> Any:
    """``text`` as a Python literal (number, tuple, None, bool, quoted string), else ``text`` itself."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_item(item: str) -> Override:
    """One ``KEY=VALUE`` or ``GENERATOR.KEY=VALUE`` item (the value may itself contain ``=``)."""
    spec, sep, text = item.partition("=")
    spec = spec.strip()
    if not sep or not spec:
        raise ConfigError(f"{OPTION} takes KEY=VALUE or GENERATOR.KEY=VALUE (e.g. steps=8000, wgan-gp.lr=1e-4); "
                          f"got {item!r}")
    scope, dot, key = spec.rpartition(".")
    if not dot:
        scope, key = "", spec
    if not key.strip() or (dot and not scope.strip()):
        raise ConfigError(f"{OPTION} {item}: the key is empty; write KEY=VALUE or GENERATOR.KEY=VALUE")
    return Override(scope.strip() or None, key.strip(), parse_value(text), text, item)


def parse_overrides(items: Iterable[str]) -> list[Override]:
    """Every ``--hparam`` item parsed; the same key given twice with different values is an error."""
    overrides = [parse_item(item) for item in items]
    seen: dict[tuple[str | None, str], Override] = {}
    for override in overrides:
        previous = seen.setdefault((override.scope, override.key), override)
        if previous.value != override.value or type(previous.value) is not type(override.value):
            raise ConfigError(f"{override.where}: {previous.where} already sets this key")
    return overrides


def known_keys(cls: type, budget: str) -> list[str]:
    """The hyperparameters generator class ``cls`` accepts at ``budget`` (the budget's keys)."""
    return sorted(cls.budgets.get(budget, {}))


def resolve_overrides(overrides: Iterable[Override], generators: Mapping[str, type],
                      budget: str) -> dict[str, dict[str, Any]]:
    """Validated overrides per selected generator (``name -> {key: value}``, empty when none apply).

    ``generators`` maps each selected generator name to its class. Raises :class:`ConfigError` naming
    the item, the generator and the known keys for a scope that is not selected, a key no selected
    generator has (unscoped) or the scoped generator lacks, and a value of the wrong type.
    """
    overrides = list(overrides)
    resolved: dict[str, dict[str, Any]] = {name: {} for name in generators}
    unscoped = [o for o in overrides if o.scope is None]
    scoped = [o for o in overrides if o.scope is not None]
    for override in unscoped:
        having = [name for name, cls in generators.items() if override.key in cls.budgets.get(budget, {})]
        if not having:
            known = "; ".join(f"{name}: {', '.join(known_keys(cls, budget)) or 'none'}"
                              for name, cls in generators.items()) or "no generator is selected"
            raise ConfigError(f"{override.where}: no selected generator has the hyperparameter {override.key!r} "
                              f"at budget {budget!r} (known: {known})")
        for name in having:
            resolved[name][override.key] = checked_value(name, override, generators[name].budgets[budget][override.key])
    for override in scoped:
        cls = generators.get(override.scope)
        if cls is None:
            selected = ", ".join(generators) or "none"
            raise ConfigError(f"{override.where}: generator {override.scope!r} is not selected "
                              f"(selected: {selected})")
        settings = cls.budgets.get(budget, {})
        if override.key not in settings:
            raise ConfigError(f"{override.where}: generator {override.scope!r} has no hyperparameter "
                              f"{override.key!r} at budget {budget!r}; known: "
                              f"{', '.join(known_keys(cls, budget)) or 'none'}")
        resolved[override.scope][override.key] = checked_value(override.scope, override, settings[override.key])
    return resolved


def overrides_for(items: Iterable[str], generators: Mapping[str, type], budget: str) -> dict[str, dict[str, Any]]:
    """:func:`resolve_overrides` of raw ``--hparam`` items."""
    return resolve_overrides(parse_overrides(items), generators, budget)


def checked_value(generator: str, override: Override, default: Any) -> Any:
    """``override``'s value checked against (and normalised to) the type of the budget's ``default``."""
    value = override.value
    if default is None:
        return value
    try:
        if isinstance(default, str):  # a mode name; True/False stay bools (gaussian's shrinkage: auto|True|False)
            return value if isinstance(value, (str, bool)) else override.text.strip()
        if isinstance(default, (tuple, list)):
            items = value if isinstance(value, (tuple, list)) else (value,)
            like = default[0] if default else None
            try:
                checked = [item if like is None else scalar(item, like) for item in items]
            except _WrongType as exc:
                raise _WrongType(f"takes a tuple (one value is a 1-tuple) of elements that {exc}") from None
            return type(default)(checked)
        return scalar(value, default)
    except _WrongType as exc:
        raise ConfigError(f"{override.where}: {generator}.{override.key} {exc} (budget default: "
                          f"{render_value(default)})") from None


class _WrongType(Exception):
    """A value that does not fit its default's type, in words."""


def scalar(value: Any, default: Any) -> Any:
    """``value`` when it has the type of the scalar ``default`` (an int is also a float); else _WrongType."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _WrongType(f"must be True or False, got {describe(value)}")
    if isinstance(value, bool):
        raise _WrongType(f"must be {kind_of(default)}, got the bool {value}")
    if isinstance(default, int):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            raise _WrongType(f"must be an integer, got the float {value!r}: an integral float is not an integer, "
                             f"write {int(value)}")
        raise _WrongType(f"must be an integer, got {describe(value)}")
    if isinstance(default, float):
        if isinstance(value, (int, float)):
            return float(value)
        raise _WrongType(f"must be a number, got {describe(value)}")
    if isinstance(value, type(default)):
        return value
    raise _WrongType(f"must be {kind_of(default)}, got {describe(value)}")


def kind_of(default: Any) -> str:
    return {bool: "True or False", int: "an integer", float: "a number", str: "a string"}.get(
        type(default), f"a {type(default).__name__}")


def describe(value: Any) -> str:
    return f"the {type(value).__name__} {value!r}"


def render_value(value: Any) -> str:
    """Canonical text of one override value: tuples and lists as ``(a,b)``, strings as typed (quoted when
    they would read back as another type), other values as ``repr``."""
    if isinstance(value, str):
        return value if parse_value(value) == value else repr(value)
    if isinstance(value, (tuple, list)):
        inner = ",".join(render_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def render_overrides(overrides: Mapping[str, Any]) -> str:
    """``k1=v1, k2=v2`` in key order (empty for no overrides)."""
    return ", ".join(f"{key}={render_value(overrides[key])}" for key in sorted(overrides))


def variant_name(generator: str, overrides: Mapping[str, Any] | None) -> str:
    """The name of a generator run with ``overrides``: ``wgan-gp [steps=8000]``; the plain name without."""
    return f"{generator} [{render_overrides(overrides)}]" if overrides else generator


def record_variant(record: Mapping[str, Any]) -> str:
    """The variant name of a record (records without ``generator.overrides`` are the plain generator)."""
    generator = record.get("generator") or {}
    overrides = generator.get("overrides") if isinstance(generator, Mapping) else None
    name = str(generator.get("name") or "unnamed") if isinstance(generator, Mapping) else "unnamed"
    return variant_name(name, overrides if isinstance(overrides, Mapping) else None)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data for a record: numpy scalars and arrays as numbers and lists, tuples
    as lists, mapping keys as strings, non-finite floats as None, anything else as its text."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
