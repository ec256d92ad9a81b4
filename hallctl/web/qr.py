"""A ticket's QR code as inline SVG, drawn on the server (segno: pure Python, no browser code)."""

from __future__ import annotations

import io

import segno


def qr_svg(payload: str, *, scale: int = 6) -> str:
    """An `<svg>` element (no XML declaration) to place straight into the page."""
    code = segno.make(payload, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True,
              title="QR", dark="#000", light="#fff")
    return out.getvalue().decode("utf-8")
