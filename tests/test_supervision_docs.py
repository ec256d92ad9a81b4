"""docs/reports.md says what the code does: the KPI table and the norm alarm kinds."""

from __future__ import annotations

from pathlib import Path

from hallctl.hall.norms import ALARM_KINDS, NORM_KINDS
from hallctl.supervision.definitions import markdown_table

DOC = (Path(__file__).resolve().parent.parent / "docs" / "reports.md").read_text(encoding="utf-8")


def test_the_kpi_table_is_generated_from_the_definitions() -> None:
    begin, end = "<!-- kpis:begin -->\n", "<!-- kpis:end -->"
    documented = DOC[DOC.index(begin) + len(begin) : DOC.index(end)]
    assert documented == markdown_table(), "run: python -m hallctl.supervision.definitions"


def test_every_norm_alarm_is_documented_with_its_scope_and_severity() -> None:
    for kind in [*NORM_KINDS, "case_overdue"]:
        scope, severity = ALARM_KINDS[kind]
        line = next(ln for ln in DOC.splitlines() if ln.startswith(f"| `{kind}`"))
        assert f"| {scope} | {severity} |" in line, line
