"""Generator registry: built-in generators, entry-point plugins and plugin files."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from generators.base import Generator

ENTRY_POINT_GROUP = "omics_benchmark.generators"
BUILTIN_MODULES = ("generators.baselines", "generators.wgan_gp", "generators.attgan", "generators.gmda",
                   "generators.offspring_gan", "generators.mendelian", "generators.ctgan",
                   "generators.tvae", "generators.tabddpm", "generators.latent_diffusion")
PRIVACY_CONTROLS = frozenset({"copy-train"})  # shown in leaderboards, never ranked
EXTERNAL_PREFIXES = ("external:", "synthcity:")  # generators declared outside Python (benchmark.run.external)
SYNTHCITY_ENV = "OMICS_BENCHMARK_SYNTHCITY_PYTHON"  # the synthcity environment's interpreter (--synthcity-python)

_GENERATORS: dict[str, type[Generator]] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_PLUGIN_FILES: list[str] = []
_FILE_OF: dict[str, str] = {}  # generator name -> the plugin file that registered it
_loading: list[str] = []  # the plugin file being imported, while it runs
_builtins_imported = False
_discovered = False  # entry-point plugins loaded


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
    if _loading:
        _FILE_OF[name] = _loading[-1]
    return cls


def discover() -> None:
    """Import built-in generator modules and entry-point plugins once; plugin import errors are kept."""
    global _discovered
    import_builtins()
    if _discovered:
        return
    _discovered = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _load_entry_point(entry)


def import_builtins() -> None:
    """Import the built-in generator modules once."""
    global _builtins_imported
    if not _builtins_imported:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _builtins_imported = True


def _load_entry_point(entry: EntryPoint) -> None:
    try:
        loaded = entry.load()
        if isinstance(loaded, type):
            register_generator(loaded)
    except Exception as exc:  # a broken plugin is reported, not hidden
        _PLUGIN_ERRORS[f"{entry.name} ({entry.value})"] = f"{type(exc).__name__}: {exc}"


def load_plugin_file(path: str | Path) -> None:
    """Import a Python file that registers generators with ``@register_generator``, or register the external
    generator of a source ``external:PATH`` / ``synthcity:PLUGIN@PYTHON`` (what :func:`plugin_files_of` gives)."""
    if isinstance(path, str) and is_external(path):
        register_external(path)
        return
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
    _loading.append(str(path))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ConfigError(f"plugin file {path} failed to import: {type(exc).__name__}: {exc}") from exc
    finally:
        _loading.pop()
    _PLUGIN_FILES.append(str(path))


def plugin_files_of(name: str) -> tuple[str, ...]:
    """The plugin file that registered generator ``name`` (for an external generator, its self-contained source
    ``external:/abs/gen.toml`` or ``synthcity:PLUGIN@/abs/python``; empty for built-in and entry-point
    generators): the only plugin file a job of that generator imports."""
    return (_FILE_OF[name],) if name in _FILE_OF else ()


def is_external(name: str) -> bool:
    """Whether ``name`` declares an external generator (``external:PATH``, ``synthcity:PLUGIN[@PYTHON]``)."""
    return name.startswith(EXTERNAL_PREFIXES)


def register_external(source: str) -> type[Generator]:
    """Register the external generator declared by ``source`` under its own name (once per declaration)."""
    from benchmark.run.external import external_generator

    import_builtins()
    cls = external_generator(source)
    existing = _GENERATORS.get(cls.name)
    if existing is not None and existing is not cls:
        taken_by = _FILE_OF.get(cls.name) or f"{existing.__module__}.{existing.__qualname__}"
        raise ConfigError(f"{source}: the generator name {cls.name!r} is taken by {taken_by}")
    register_generator(cls)
    _FILE_OF[cls.name] = cls.spec.source
    return cls


def get_generator(name: str) -> type[Generator]:
    """The class registered as ``name``; of the entry-point plugins, one named ``name`` is tried first.
    ``external:PATH`` and ``synthcity:PLUGIN`` register their generator and return it."""
    if is_external(name):
        return register_external(name)
    import_builtins()
    if name not in _GENERATORS:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name == name:
                _load_entry_point(entry)
    if name not in _GENERATORS:
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
    """Names from ``all`` or a comma list (``external:…``/``synthcity:…`` items give their generator's name);
    ``all`` keeps those that support ``modality``."""
    if spec.strip() == "all":
        return [name for name, cls in all_generators().items() if modality in cls.modalities]
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise ConfigError("--generators is empty")
    classes = [get_generator(name) for name in names]
    for name, cls in zip(names, classes, strict=True):
        if modality not in cls.modalities:
            raise ConfigError(
                f"generator {name!r} supports {sorted(cls.modalities)}, not the dataset's modality {modality!r}"
            )
    return [cls.name for cls in classes]
