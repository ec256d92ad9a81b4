"""Render a report in a format, and write a day's reports into a directory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from hallctl.config.models import HallConfig
from hallctl.supervision.report import Period, Report, Scope, build
from hallctl.supervision.store import FactStore

FORMATS = ("text", "csv", "xlsx", "html", "pdf")
SUFFIX = {"text": "txt", "csv": "csv", "xlsx": "xlsx", "html": "html", "pdf": "pdf"}


def render(report: Report, fmt: str) -> bytes:
    if fmt == "text":
        from hallctl.supervision.tabular import render_text

        return render_text(report).encode()
    if fmt == "csv":
        from hallctl.supervision.tabular import render_csv

        return render_csv(report).encode("utf-8-sig")  # the BOM lets Excel read Chinese
    if fmt == "xlsx":
        from hallctl.supervision.tabular import render_xlsx

        return render_xlsx(report)
    if fmt == "html":
        from hallctl.supervision.html_report import render_html

        return render_html(report).encode()
    if fmt == "pdf":
        from hallctl.supervision.pdf_report import render_pdf

        return render_pdf(report)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def file_name(report: Report, fmt: str) -> str:
    scope = f"-{report.scope}" if report.scope else ""
    span = report.first.isoformat()
    if report.period == "range":
        span += f"-{report.last.isoformat()}"
    return f"{report.hall_id}-{report.period}-{span}{scope}.{SUFFIX[fmt]}"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def journal_path(config: HallConfig) -> Path:
    return config.data_dir / "journal.db"


def open_store(config: HallConfig) -> FactStore:
    archive = config.data_dir / "archive"
    return FactStore(journal_path(config), config.hall.tz, archive if archive.exists() else None)


def write_reports(
    config: HallConfig,
    period: Period,
    day: date,
    formats: Iterable[str],
    out_dir: Path,
    scope: Scope = Scope(),  # noqa: B008 - frozen
) -> tuple[Report, list[Path]]:
    """Build one report and write it in each format into ``out_dir``; returns the paths."""
    with open_store(config) as store:
        report = build(config, store, period, day, scope)
    paths = []
    for fmt in formats:
        path = out_dir / file_name(report, fmt)
        write_atomically(path, render(report, fmt))
        paths.append(path)
    return report, paths
