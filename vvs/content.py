"""Content registry: load admin-edited files, validate, build an immutable snapshot, swap.

Every admin-edited file set (knowledge entries, directory, flows) is a `ContentSet`.
Reload never mutates what is serving: a new snapshot is built aside and swapped in one
assignment only when every set validated without errors.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol, TextIO, TypeVar

from vvs.errors import ContentInvalid

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class ContentError:
    """One validation finding; `file` is relative to the content root."""

    file: str
    line: int | None
    field: str | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" [{self.field}]" if self.field else ""
        tag = "" if self.severity == "error" else " (avertissement)"
        return f"{where}{what}: {self.message}{tag}"


def print_findings(findings: Sequence[ContentError], out: TextIO | None = None) -> int:
    """For the command lines: errors, then warnings, then the count; the exit code (1 when
    any error)."""
    out = out or sys.stdout
    errors = sorted(f for f in findings if f.severity == "error")
    for finding in errors + sorted(f for f in findings if f.severity != "error"):
        print(finding, file=out)
    print(f"{len(errors)} erreur(s), {len(findings) - len(errors)} avertissement(s)", file=out)
    return 1 if errors else 0


class ContentSet(Protocol):
    """A family of admin-edited files under `root / subdir`."""

    name: str
    subdir: str

    def load(self, root: Path, loaded: Mapping[str, object]
             ) -> tuple[object, list[ContentError]]:
        """Parse and validate; `loaded` holds the snapshots of sets loaded before this one.

        Return (snapshot, findings). The snapshot is ignored when any finding is an error.
        """
        ...


@dataclass(frozen=True)
class Snapshot:
    """Immutable view of all content sets at one version."""

    version: str
    sets: Mapping[str, object]
    warnings: tuple[ContentError, ...] = ()

    def __getitem__(self, name: str) -> Any:
        """The snapshot of set `name`, untyped: prefer `of` and `get`."""
        return self.sets[name]

    def get(self, name: str, kind: type[T]) -> T | None:
        """The snapshot of set `name` when it is loaded (and is a `kind`), else None."""
        value = self.sets.get(name)
        return value if isinstance(value, kind) else None

    def of(self, name: str, kind: type[T]) -> T:
        """The snapshot of set `name`; LookupError when it is not loaded as a `kind`."""
        value = self.get(name, kind)
        if value is None:
            raise LookupError(f"content set {name!r} is not loaded as a {kind.__name__}")
        return value


@dataclass
class ReloadResult:
    ok: bool
    version: str | None
    errors: list[ContentError] = field(default_factory=list)
    warnings: list[ContentError] = field(default_factory=list)
    changed: bool = False


def content_version(root: Path, subdirs: Sequence[str]) -> str:
    """Hash of every file's relative path and bytes: equal content, equal version."""
    digest = hashlib.sha256()
    for sub in subdirs:
        base = root / sub
        if not base.exists():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix in {".pyc", ".py"}:
                continue
            digest.update(str(path.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_all(root: Path, sets: Sequence[ContentSet]) -> tuple[Snapshot | None, list[ContentError]]:
    """Load every set in order; return a snapshot only if there is no error."""
    loaded: dict[str, object] = {}
    findings: list[ContentError] = []
    for content_set in sets:
        try:
            snap, errs = content_set.load(root, MappingProxyType(dict(loaded)))
        except Exception as exc:  # a loader bug must not take the service down
            log.exception("content set %s crashed while loading", content_set.name)
            errs = [ContentError(content_set.subdir, None, None, f"erreur interne : {exc}")]
            snap = None
        findings.extend(errs)
        loaded[content_set.name] = snap
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        return None, findings
    version = content_version(root, [s.subdir for s in sets])
    warnings = tuple(f for f in findings if f.severity == "warning")
    return Snapshot(version, MappingProxyType(loaded), warnings), findings


class ContentRegistry:
    """Holds the snapshot in service; `reload` swaps it only when the new one is valid."""

    def __init__(self, root: Path, sets: Sequence[ContentSet]) -> None:
        self.root = root
        self.sets = list(sets)
        self._current: Snapshot | None = None
        self._reloading = threading.Lock()  # reloads run in worker threads: one at a time

    @property
    def current(self) -> Snapshot:
        if self._current is None:
            raise RuntimeError("content not loaded")
        return self._current

    def load_initial(self) -> Snapshot:
        """Load at start-up; raise ContentInvalid listing the errors if anything is wrong."""
        snap, findings = load_all(self.root, self.sets)
        if snap is None:
            raise ContentInvalid([f for f in findings if f.severity == "error"])
        self._current = snap
        return snap

    def reload(self) -> ReloadResult:
        """Try a new snapshot; on errors keep serving the previous one. Thread-safe: two
        reloads never interleave, so an older read of the files cannot be swapped in last."""
        with self._reloading:
            return self._reload()

    def _reload(self) -> ReloadResult:
        snap, findings = load_all(self.root, self.sets)
        errors = [f for f in findings if f.severity == "error"]
        warnings = [f for f in findings if f.severity == "warning"]
        if snap is None:
            log.warning("content reload refused: %d error(s)", len(errors))
            return ReloadResult(False, self._current.version if self._current else None,
                                errors, warnings)
        changed = self._current is None or snap.version != self._current.version
        self._current = snap
        return ReloadResult(True, snap.version, [], warnings, changed)
