"""Make docs/voice-example.wav (one announcement) and docs/voice-example.png (its waveform).

    .venv/bin/python scripts/voice_example.py

The clips come from espeak-ng (`hallctl voice build` code); the picture is an SVG drawn here and
rendered by headless Chromium (Debian's), so no plotting library is needed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hallctl.voice.build import build_clips  # noqa: E402
from hallctl.voice.clips import ClipSet  # noqa: E402
from hallctl.voice.compose import SILENCE, Announcement, Composer  # noqa: E402
from hallctl.voice.config import VoiceSection  # noqa: E402
from hallctl.voice.pcm import from_bytes  # noqa: E402
from hallctl.voice.reading import needed_keys  # noqa: E402

W, H, TOP = 1400, 360, 60


def svg(ann: Announcement) -> str:
    samples = from_bytes(ann.pcm)
    n = len(samples)
    mid, half = TOP + (H - TOP - 50) / 2, (H - TOP - 50) / 2
    per = max(1, n // W)
    bars = []
    for x in range(W):
        chunk = samples[x * per : (x + 1) * per] or [0]
        lo, hi = min(chunk) / 32768, max(chunk) / 32768
        bars.append(f"M{x} {mid - hi * half:.1f}V{mid - lo * half:.1f}")
    labels = []
    for i, seg in enumerate(s for s in ann.segments if s.key != SILENCE):
        x0, x1 = seg.start / n * W, (seg.start + seg.samples) / n * W
        shade = "#eef3fb" if i % 2 else "#f7f9fc"
        labels.append(
            f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{H - TOP - 50}" '
            f'fill="{shade}"/>'
            f'<text x="{(x0 + x1) / 2:.1f}" y="{H - 22}" text-anchor="middle">'
            f"{escape(seg.key)}</text>"
        )
    ticks = "".join(
        f'<text x="{t * ann.rate / n * W + 3:.1f}" y="{H - 4}" class="t">{t} s</text>'
        for t in range(int(ann.seconds) + 1)
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">
<style>text{{font:18px 'Noto Sans CJK SC',sans-serif;fill:#1d2733}}.t{{font-size:13px;fill:#5b6775}}
</style>
<rect width="{W}" height="{H}" fill="#fff"/>
<text x="12" y="30" style="font-size:22px">{escape(ann.text)} — {ann.seconds:.2f} s, {ann.rate} Hz,
 mono, 16-bit; clips from espeak-ng (cmn)</text>
{"".join(labels)}
<path d="{"".join(bars)}" stroke="#1f5fbf" stroke-width="1"/>
{ticks}
</svg>"""


def main() -> None:
    voice = VoiceSection(sample_rate=16000, repeat=1)
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        keys = needed_keys([voice.template], ["A"], {"window": ["5号窗口"]})
        asyncio.run(build_clips(voice, keys, tmp / "clips"))
        ann = Composer(voice, ClipSet.load(tmp / "clips")).compose("A012", 5, "5号窗口")
        (docs / "voice-example.wav").write_bytes(ann.wav())
        (tmp / "wave.svg").write_text(svg(ann), encoding="utf-8")
        subprocess.run(
            [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--window-size={W},{H}", f"--screenshot={docs / 'voice-example.png'}",
                (tmp / "wave.svg").as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"{ann.text}: {ann.seconds:.2f} s; wrote docs/voice-example.wav and .png")


if __name__ == "__main__":
    main()
