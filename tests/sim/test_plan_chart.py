"""``hallctl plan --chart``: the plan drawn as a PNG or SVG file, service names in Chinese."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pytest

from hallctl.cli import main
from hallctl.sim.plan_chart import DPI, PALETTE, SIZE_IN

DAYS = Path(__file__).resolve().parents[2] / "bench" / "eta_days"
PLAN = [
    "plan",
    "-c",
    str(DAYS / "city_hall.yaml"),
    "--scenario",
    str(DAYS / "city_day.yaml"),
    "--rounds",
    "0",
    "--seeds",
    "1",
]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_png_of_the_planned_windows_with_cjk_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*PLAN, "--chart", str(out)]) == 0
    # a label in a font without the glyphs would warn "Glyph … missing from font(s)"
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert "BDC" in capsys.readouterr().out  # the table is printed as before
    data = out.read_bytes()
    assert png_size(data) == (round(SIZE_IN[0] * DPI), round(SIZE_IN[1] * DPI))

    from matplotlib.image import imread

    pixels = imread(str(out))[:, :, :3]
    ink = (pixels < 0.95).any(axis=2).mean()
    assert 0.1 < ink < 0.9  # drawn on, not blank and not a block of colour
    colours = {tuple(round(float(v) * 255) for v in px) for px in pixels[::4, ::4].reshape(-1, 3)}
    # each of the four services' bars is filled in its own colour
    for hex_ in PALETTE[:4]:
        rgb = tuple(int(hex_[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, hex_


def test_the_chart_can_be_an_svg(tmp_path: Path) -> None:
    out = tmp_path / "plan.svg"
    assert main([*PLAN, "--chart", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "<svg" in svg and f'width="{SIZE_IN[0] * 72:g}pt"' in svg
    assert svg.count("<path") > 100  # bars, lines and the text drawn as paths


def test_a_chart_format_it_cannot_write_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*PLAN, "--chart", str(tmp_path / "plan.pdf")]) == 1
    err = capsys.readouterr()
    assert ".png or .svg" in err.err and err.out == ""  # no table: nothing was simulated
    assert main([*PLAN, "--chart", str(tmp_path / "no" / "plan.png")]) == 1
    assert "no such folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
