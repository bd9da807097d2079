"""Content registry: validate, swap only valid snapshots, line-aware YAML errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from vvs.content import ContentError, ContentRegistry
from vvs.errors import ContentInvalid
from vvs.yamlfile import YamlSyntaxError, load_file


class ItemsSet:
    """A tiny content set: every YAML file holds `items:` with `name` fields."""

    name = "items"
    subdir = "items"

    def load(self, root: Path, loaded: Mapping[str, Any]) -> tuple[Any, list[ContentError]]:
        errors, names = [], []
        for path in sorted((root / self.subdir).glob("*.yaml")):
            rel = str(path.relative_to(root))
            try:
                data = load_file(path)
            except YamlSyntaxError as exc:
                errors.append(ContentError(rel, exc.line, None, str(exc)))
                continue
            for i, item in enumerate(data.get("items", [])):
                if "name" not in item:
                    errors.append(ContentError(rel, data["items"].item_lines[i], "name",
                                               "champ obligatoire"))
                else:
                    names.append(item["name"])
        return tuple(names), errors


def write(root: Path, text: str) -> None:
    (root / "items").mkdir(exist_ok=True)
    (root / "items" / "a.yaml").write_text(text)


def test_broken_reload_keeps_previous_snapshot(tmp_path: Path) -> None:
    write(tmp_path, "items:\n  - name: un\n")
    registry = ContentRegistry(tmp_path, [ItemsSet()])
    first = registry.load_initial()
    assert first["items"] == ("un",)
    write(tmp_path, "items:\n  - name: un\n  - label: deux\n")
    result = registry.reload()
    assert not result.ok and registry.current is first
    assert [str(e) for e in result.errors] == ["items/a.yaml:3 [name]: champ obligatoire"]
    write(tmp_path, "items:\n  - name: un\n  - name: deux\n")
    result = registry.reload()
    assert result.ok and result.changed and registry.current["items"] == ("un", "deux")
    assert registry.current.version != first.version


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    write(tmp_path, "items:\n  - name: un\n  - name: [oops\n")
    registry = ContentRegistry(tmp_path, [ItemsSet()])
    with pytest.raises(ContentInvalid) as info:
        registry.load_initial()
    error = info.value.errors[0]
    assert error.file == "items/a.yaml" and error.line in (3, 4)


def test_unchanged_reload_is_not_a_change(tmp_path: Path) -> None:
    write(tmp_path, "items:\n  - name: un\n")
    registry = ContentRegistry(tmp_path, [ItemsSet()])
    registry.load_initial()
    assert registry.reload().changed is False
