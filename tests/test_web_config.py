"""The `web:` section: screens, tokens kept hashed, cross checks; the notice CLI and token maker."""

from __future__ import annotations

import pytest

from hallctl.cli import main
from hallctl.config import ConfigError, parse_config
from hallctl.web.tokens import token_hash

HASH = "ab" * 32
HALL = """\
version: 1
hall: {id: h1, name: 测试大厅}
services:
  - {code: BDC, name: 不动产登记, prefix: A}
windows:
  - {number: 1, services: [BDC]}
kiosks:
  kiosks: [{id: K1%(printer)s}]
web:
  screens:
%(screens)s
"""


def problems(screens: str, printer: str = "") -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(HALL % {"screens": screens, "printer": printer}, env={})
    return [(".".join(map(str, p.path)), p.message) for p in info.value.problems]


def test_a_valid_web_section() -> None:
    screens = (f"    - {{id: main, page: display, token_sha256: {HASH}}}\n"
               f"    - {{id: w1, page: window, window: 1, token_sha256: {HASH}}}\n"
               f"    - {{id: K1, page: kiosk, token_sha256: {HASH}}}")
    cfg = parse_config(HALL % {"screens": screens, "printer": ""}, env={})
    assert cfg.web is not None and cfg.web.window_screen(1) is not None
    assert cfg.web.kiosk_screen("K1") is not None and cfg.web.display("main") is not None


def test_screens_that_point_nowhere_are_named() -> None:
    found = problems(
        f"    - {{id: window, page: display, windows: [7], services: [XX], token_sha256: {HASH}}}\n"
        f"    - {{id: w9, page: window, window: 9, token_sha256: {HASH}}}\n"
        f"    - {{id: K7, page: kiosk, token_sha256: {HASH}}}",
        printer=", printer: prn",
    )
    assert ("web.screens.0.id", "a display may not be called 'window'") in found
    assert ("web.screens.0.windows.0", "unknown window 7") in found
    assert ("web.screens.0.services.0", "unknown service 'XX'") in found
    assert ("web.screens.1.window", "unknown window 9") in found
    assert ("web.screens.2.id", "kiosk 'K7' is not under kiosks:") in found
    assert any(p == "kiosks.kiosks.0.printer" for p, _ in found)


def test_a_token_in_clear_or_a_misplaced_field_is_refused() -> None:
    found = problems("    - {id: main, page: display, token_sha256: secret123}")
    assert found and found[0][0].startswith("web.screens.0.token_sha256")
    found = problems(f"    - {{id: main, page: display, window: 1, token_sha256: {HASH}}}")
    assert "`window` is for window screens" in found[0][1]
    found = problems(f"    - {{id: a, page: window, token_sha256: {HASH}}}")
    assert "a window screen needs `window`" in found[0][1]


def test_screen_token_prints_a_token_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen-token", "K1"]) == 0
    out = capsys.readouterr().out.split()
    token, digest = next(w for w in out if len(w) == 43), out[-1]
    assert digest == token_hash(token)
