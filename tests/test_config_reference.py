"""docs/configuration.md, as a reader sees it: tables that stay tables, values as YAML."""

from __future__ import annotations

import re

from hallctl.config.reference import reference


def test_every_table_row_has_four_cells() -> None:
    rows = [ln for ln in reference().splitlines() if ln.startswith("| `")]
    assert len(rows) > 50
    # a `|` inside a type (int | null) or a description must not end the cell early
    bad = [ln for ln in rows if len(re.findall(r"(?<!\\)\|", ln)) != 5]
    assert bad == []


def test_defaults_are_written_as_in_the_hall_file() -> None:
    text = reference()
    assert "PosixPath" not in text
    assert not re.search(r"`(None|True|False|'[^`]*')`", text)
    assert "| `data_dir` | Path | `var` |" in text
