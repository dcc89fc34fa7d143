"""Generator registry: built-in generators, entry-point plugins and plugin files."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from generators.base import Generator

ENTRY_POINT_GROUP = "omics_benchmark.generators"
BUILTIN_MODULES = ("generators.baselines",)
PRIVACY_CONTROLS = frozenset({"copy-train"})  # shown in leaderboards, never ranked

_GENERATORS: dict[str, type[Generator]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_PLUGIN_FILES: list[str] = []
_discovered = False


def register_generator(cls: type[Generator]) -> type[Generator]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__} needs a class attribute `name`")
    if not getattr(cls, "modalities", None):
        raise TypeError(f"{cls.__qualname__} needs a class attribute `modalities`")
    existing = _GENERATORS.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"generator name {name!r} is taken by {existing.__module__}.{existing.__qualname__}")
    _GENERATORS[name] = cls
    return cls


def discover() -> None:
    """Import built-in generator modules and entry-point plugins once; plugin import errors are kept."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if isinstance(loaded, type):
                register_generator(loaded)
        except Exception as exc:  # a broken plugin is reported, not hidden
            _PLUGIN_ERRORS[f"{entry.name} ({entry.value})"] = f"{type(exc).__name__}: {exc}"


def load_plugin_file(path: str | Path) -> None:
    """Import a Python file that registers generators with ``@register_generator``."""
    path = Path(path).resolve()
    if str(path) in _PLUGIN_FILES:
        return
    if not path.is_file():
        raise ConfigError(f"plugin file {path} does not exist")
    module_name = f"omics_benchmark_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"plugin file {path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"plugin file {path} failed to import: {type(exc).__name__}: {exc}") from exc
    _PLUGIN_FILES.append(str(path))


def plugin_files() -> tuple[str, ...]:
    """Plugin files loaded in this process (job processes load them again)."""
    return tuple(_PLUGIN_FILES)


def get_generator(name: str) -> type[Generator]:
    discover()
    if name not in _GENERATORS:
        known = ", ".join(sorted(_GENERATORS))
        raise ConfigError(f"unknown generator {name!r}; known: {known}")
    return _GENERATORS[name]


def all_generators() -> dict[str, type[Generator]]:
    discover()
    return dict(sorted(_GENERATORS.items()))


def plugin_errors() -> dict[str, str]:
    discover()
    return dict(_PLUGIN_ERRORS)


def resolve_generators(spec: str, modality: str) -> list[str]:
    """Names from ``all`` or a comma list; ``all`` keeps those that support ``modality``."""
    if spec.strip() == "all":
        return [name for name, cls in all_generators().items() if modality in cls.modalities]
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise ConfigError("--generators is empty")
    for name in names:
        cls = get_generator(name)
        if modality not in cls.modalities:
            raise ConfigError(
                f"generator {name!r} supports {sorted(cls.modalities)}, not the dataset's modality {modality!r}"
            )
    return names
