"""Content hashes of the code behind a record, and a check for records produced by other code.

- Generator hash: the bytes of the generator class's module, of every module it imports
  (transitively) from the ``generators`` package or, for a plugin outside it, from the plugin's own
  folder, and always ``generators/base.py``. Imports are read with :mod:`ast`, never executed, so a
  module nobody imports (a new generator) changes no other generator's hash.
- Metrics hash: every ``.py`` file of the ``metrics`` package, ``benchmark/protocol_scores.py`` and
  ``benchmark/protocols.py``.

Both are sha256 hex digests over (relative path, bytes) pairs, so they do not depend on where the
checkout lives.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from pathlib import Path

import generators

GENERATORS_DIR = Path(generators.__file__).resolve().parent
ROOT = GENERATORS_DIR.parent
METRIC_SOURCES = ("metrics", "benchmark/protocol_scores.py", "benchmark/protocols.py")


def code_block(cls: type) -> dict[str, str]:
    """The ``code`` block of a record produced by generator class ``cls``; an external generator's hash covers
    its declaration and the files its commands name (``external_code_files``), not the harness's code."""
    external = getattr(cls, "external_code_files", None)
    generator = files_hash(external()) if external is not None else generator_code_hash(cls)
    return {"generator": generator, "metrics": metrics_code_hash()}


def generator_code_hash(cls: type) -> str:
    """sha256 of the generator's module, the generator modules it imports, and generators/base.py."""
    return module_closure_hash(Path(inspect.getfile(cls)).resolve(), GENERATORS_DIR)


def metrics_code_hash() -> str:
    """sha256 of every metrics/*.py file, benchmark/protocol_scores.py and benchmark/protocols.py."""
    files: list[Path] = []
    for source in METRIC_SOURCES:
        path = ROOT / source
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files_hash({f.relative_to(ROOT).as_posix(): f for f in files})


def module_closure_hash(module_file: Path, package_dir: Path) -> str:
    """sha256 of ``module_file``, what it imports from ``package_dir`` (or, when the file is outside
    that package, from its own folder) transitively, and ``package_dir/base.py``."""
    module_file, package_dir = module_file.resolve(), package_dir.resolve()
    plugin_dir = None if module_file.is_relative_to(package_dir) else module_file.parent
    files = imported_closure(module_file, package_dir, plugin_dir) | {package_dir / "base.py"}

    def name(path: Path) -> str:
        if path.is_relative_to(package_dir):
            return f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        return f"plugin/{path.relative_to(plugin_dir).as_posix()}"

    return files_hash({name(path): path for path in files})


def files_hash(files: dict[str, Path]) -> str:
    """sha256 over each (name, size, content) in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name].read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def imported_closure(module_file: Path, package_dir: Path, plugin_dir: Path | None) -> set[Path]:
    """``module_file`` and every module file it imports, transitively, found in ``package_dir``
    (imports of ``<package>.…`` and relative imports) or ``plugin_dir`` (top-level imports)."""
    seen: set[Path] = set()
    todo = [module_file.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(p for p in imports_of(path, package_dir, plugin_dir) if p not in seen)
    return seen


def imports_of(path: Path, package_dir: Path, plugin_dir: Path | None) -> set[Path]:
    """Module files inside ``package_dir`` or ``plugin_dir`` that the file at ``path`` imports."""
    found: set[Path] = set()
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= resolve_module(alias.name.split("."), package_dir, plugin_dir)
        elif isinstance(node, ast.ImportFrom):
            found |= resolve_from(node, path, package_dir, plugin_dir)
    return found


def resolve_from(node: ast.ImportFrom, path: Path, package_dir: Path, plugin_dir: Path | None) -> set[Path]:
    """Files a ``from X import a, b`` names: each submodule X.a, and X itself when a name is not a submodule."""
    parts = (node.module or "").split(".") if node.module else []
    if node.level:
        folder = path.parent
        for _ in range(node.level - 1):
            folder = folder.parent
        scope = package_dir if path.is_relative_to(package_dir) else plugin_dir
        if scope is None or not folder.is_relative_to(scope):
            return set()
        module = module_file_in(folder, parts)
        submodules = {name: module_file_in(folder, [*parts, name]) for name in (a.name for a in node.names)}
    else:
        module = next(iter(resolve_module(parts, package_dir, plugin_dir)), None)
        submodules = {a.name: next(iter(resolve_module([*parts, a.name], package_dir, plugin_dir)), None)
                      for a in node.names}
    found = {p for p in submodules.values() if p is not None}
    if module is not None and any(p is None for p in submodules.values()):
        found.add(module)
    return found


def resolve_module(parts: list[str], package_dir: Path, plugin_dir: Path | None) -> set[Path]:
    """The file of the dotted module ``parts`` when it lies in the generators package or the plugin
    folder (named from inside it, or through the package the folder is: ``my_package.helpers``)."""
    found = None
    if parts and parts[0] == package_dir.name:
        found = module_file_in(package_dir, parts[1:])
    elif plugin_dir is not None and parts:
        found = module_file_in(plugin_dir, parts)
        if found is None and parts[0] == plugin_dir.name and (plugin_dir / "__init__.py").is_file():
            found = module_file_in(plugin_dir, parts[1:])
    return {found} if found is not None else set()


def module_file_in(folder: Path, parts: list[str]) -> Path | None:
    """``folder/a/b.py`` or ``folder/a/b/__init__.py`` for parts [a, b] (``folder/__init__.py`` for []), if it exists."""
    candidates = [folder.joinpath(*parts[:-1], parts[-1] + ".py")] if parts else []
    for candidate in [*candidates, folder.joinpath(*parts, "__init__.py")]:
        if candidate.is_file():
            return candidate.resolve()
    return None


def stale_records(results_dir: Path) -> list[tuple[Path, str]]:
    """Records under ``results_dir`` whose generator or metric code differs from this checkout's,
    as (path, reason); a record without a ``code`` block is stale. A record of a file scored by ``score``
    (``generator.external``) has no generator code: only its metric code counts."""
    from benchmark.errors import ConfigError
    from benchmark.registry import get_generator
    from benchmark.store import read_record

    metrics_now = metrics_code_hash()
    stale = []
    for path in sorted(Path(results_dir).glob("**/seed-*.json")):
        record = read_record(path)
        if record is None:
            stale.append((path, "unreadable record"))
            continue
        code = record.get("code") or {}
        generator = record.get("generator") or {}
        name = str(generator.get("name"))
        if not code:
            stale.append((path, "no code hash (produced before records carried one)"))
            continue
        expected = {}
        if "external" not in generator:
            try:
                expected["generator"] = generator_code_hash(get_generator(name))
            except ConfigError:
                stale.append((path, f"generator {name!r} is not registered here"))
                continue
        expected["metrics"] = metrics_now
        changed = [what for what, now in expected.items() if code.get(what) != now]
        if changed:
            stale.append((path, f"{' and '.join(changed)} code changed since the record was produced"))
    return stale
