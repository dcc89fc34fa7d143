"""Dataset cards: one TOML file per embedded dataset (``datasets/<id>.toml`` at the repo root).

Cards are data, not code. This module only parses and validates them, so it imports nothing
heavy (``python -m benchmark list datasets`` must answer at once). Extra card folders can be
added with ``$OMICS_BENCHMARK_CARDS`` (``os.pathsep``-separated).

A card's fields::

    id, version, title, modality, description, license, citation, loader   (strings)
    min_class_size                                                          (int, default 10)
    [source]  text, urls = [...]
    [label]   column, derivation, alternatives = [...]     (other label columns a user may pick)
    [params]  loader parameters
    [sizes.<name>]  overrides of [params] for a named size (e.g. "smoke"); "default" = [params]
    [shape.<name>]  n, p  (informational: the expected processed shape)
    [files.<role>]  a raw file the loader needs (downloaded by ``benchmark.download``):
                    name (file name in the download cache), urls = [primary, mirrors...],
                    size (bytes), sha256 and/or md5 (hex), description
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CARDS_ENV = "OMICS_BENCHMARK_CARDS"
MODALITIES = ("expression", "counts", "genotype")  # same as benchmark.dataset.MODALITIES
_REQUIRED = ("id", "version", "title", "modality", "loader")
_KNOWN = {
    "id", "version", "title", "modality", "description", "source", "license", "citation",
    "loader", "label", "min_class_size", "params", "sizes", "shape", "files",
}
_FILE_KEYS = {"name", "urls", "size", "sha256", "md5", "description"}


@dataclass(frozen=True)
class RemoteFile:
    """One raw file of a card: where to download it and how to verify it."""

    role: str
    name: str
    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    description: str = ""

    @property
    def has_digest(self) -> bool:
        return bool(self.sha256 or self.md5)


@dataclass(frozen=True)
class Card:
    """A parsed, validated dataset card."""

    id: str
    version: str
    title: str
    modality: str
    loader: str
    label_column: str
    description: str = ""
    source_text: str = ""
    source_urls: tuple[str, ...] = ()
    license: str = ""
    citation: str = ""
    label_derivation: str = ""
    label_alternatives: tuple[str, ...] = ()
    min_class_size: int = 10
    params: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)
    shape: dict[str, dict[str, int]] = field(default_factory=dict)
    files: tuple[RemoteFile, ...] = ()
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def size_names(self) -> tuple[str, ...]:
        return ("default", *sorted(s for s in self.sizes if s != "default"))

    def params_for(self, size: str = "default") -> dict[str, Any]:
        """Loader parameters for a size: ``[params]`` updated with ``[sizes.<size>]``."""
        if size != "default" and size not in self.sizes:
            raise ConfigError(
                f"dataset {self.id!r} has no size {size!r}; available: {', '.join(self.size_names)}"
            )
        merged = dict(self.params)
        merged.update(self.sizes.get(size, {}))
        return merged

    @property
    def label_columns(self) -> tuple[str, ...]:
        return (self.label_column, *[c for c in self.label_alternatives if c != self.label_column])


def builtin_cards_dir() -> Path:
    """``<repo>/datasets`` next to the ``benchmark`` package."""
    import benchmark

    return Path(benchmark.__file__).resolve().parent.parent / "datasets"


def card_dirs() -> list[Path]:
    """The built-in folder, then every folder named in ``$OMICS_BENCHMARK_CARDS``."""
    dirs = [builtin_cards_dir()]
    for item in os.environ.get(CARDS_ENV, "").split(os.pathsep):
        if item.strip():
            dirs.append(Path(item.strip()).expanduser())
    return dirs


def _str(raw: dict[str, Any], key: str, path: Path, default: str = "") -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{path}: field {key!r} must be a string, got {type(value).__name__}")
    return value


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{key}] must be a table")
    return value


def parse_card(path: str | os.PathLike[str]) -> Card:
    """Read and validate one card file; ConfigError names the file and the field at fault."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read card ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    return card_from_dict(raw, path)


def card_from_dict(raw: dict[str, Any], path: Path | None = None) -> Card:
    where = path if path is not None else Path("<card>")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    card_id = _str(raw, "id", where)
    if path is not None and path.stem != card_id:
        raise ConfigError(f"{where}: card id {card_id!r} must match the file name {path.stem!r}")
    modality = _str(raw, "modality", where)
    if modality not in MODALITIES:
        raise ConfigError(f"{where}: modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    source = raw.get("source", {})
    if isinstance(source, str):
        source = {"text": source}
    if not isinstance(source, dict):
        raise ConfigError(f"{where}: [source] must be a table with text and urls")
    urls = source.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    label = raw.get("label", {})
    if isinstance(label, str):
        label = {"column": label}
    if not isinstance(label, dict) or not isinstance(label.get("column"), str):
        raise ConfigError(f"{where}: [label] needs a string field 'column'")
    min_class_size = raw.get("min_class_size", 10)
    if not isinstance(min_class_size, int) or isinstance(min_class_size, bool) or min_class_size < 1:
        raise ConfigError(f"{where}: min_class_size must be a positive integer")
    sizes = _table(raw, "sizes", where)
    for name, table in sizes.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [sizes.{name}] must be a table")
    files = _files(_table(raw, "files", where), where)
    return Card(
        id=card_id,
        version=str(raw["version"]),
        title=_str(raw, "title", where),
        modality=modality,
        loader=_str(raw, "loader", where),
        label_column=label["column"],
        description=_str(raw, "description", where).strip(),
        source_text=str(source.get("text", "")).strip(),
        source_urls=tuple(str(u) for u in urls),
        license=_str(raw, "license", where),
        citation=_str(raw, "citation", where).strip(),
        label_derivation=str(label.get("derivation", "")).strip(),
        label_alternatives=tuple(str(c) for c in label.get("alternatives", [])),
        min_class_size=min_class_size,
        params=dict(_table(raw, "params", where)),
        sizes={name: dict(table) for name, table in sizes.items()},
        shape={name: dict(table) for name, table in _table(raw, "shape", where).items()},
        files=files,
        path=path,
        raw=raw,
    )


def _hex(value: Any, length: int, what: str, where: Path) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != length or any(c not in "0123456789abcdef" for c in value.lower()):
        raise ConfigError(f"{where}: {what} must be {length} hex digits, got {value!r}")
    return value.lower()


def _files(table: dict[str, Any], where: Path) -> tuple[RemoteFile, ...]:
    out = []
    names: set[str] = set()
    for role, spec in table.items():
        at = f"[files.{role}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {at} must be a table")
        unknown = sorted(set(spec) - _FILE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: {at}: unknown field(s) {', '.join(unknown)}")
        name = spec.get("name")
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            raise ConfigError(f"{where}: {at}: 'name' must be a plain file name, got {name!r}")
        if name in names:
            raise ConfigError(f"{where}: {at}: file name {name!r} used twice")
        names.add(name)
        urls = spec.get("urls", [])
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
            raise ConfigError(f"{where}: {at}: 'urls' must be a list of URLs")
        size = spec.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ConfigError(f"{where}: {at}: 'size' must be a byte count")
        out.append(RemoteFile(
            role=str(role), name=name, urls=tuple(urls), size=size,
            sha256=_hex(spec.get("sha256"), 64, f"{at} sha256", where),
            md5=_hex(spec.get("md5"), 32, f"{at} md5", where),
            description=str(spec.get("description", "")),
        ))
    return tuple(out)


def list_cards() -> list[Card]:
    """Every card in the card folders, sorted by id. Two cards with one id → ConfigError."""
    found: dict[str, Card] = {}
    for folder in card_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            card = parse_card(path)
            if card.id in found:
                raise ConfigError(
                    f"dataset id {card.id!r} is defined twice: {found[card.id].path} and {path}"
                )
            found[card.id] = card
    return [found[key] for key in sorted(found)]


def card_ids() -> list[str]:
    return [card.id for card in list_cards()]


def get_card(card_id: str) -> Card:
    """The card with this id; ConfigError listing the known ids otherwise."""
    for card in list_cards():
        if card.id == card_id:
            return card
    known = ", ".join(card_ids()) or "(none)"
    raise ConfigError(f"unknown dataset {card_id!r}; known datasets: {known}")


def _canonical(value: Any) -> Any:
    """TOML values as JSON-friendly values (dates → ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def card_hash(card: Card) -> str:
    """sha256 of the card's canonical content (parsed TOML as sorted, compact UTF-8 JSON).

    Comments and formatting do not change the hash; any field value does.
    """
    text = json.dumps(_canonical(card.raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
