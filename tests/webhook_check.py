"""The receiver-side signature check exactly as docs/backends.md gives it: the tests run the
documented code, so the page cannot drift from what hallctl sends."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "backends.md"

Verify = Callable[..., bool]


def documented_check() -> tuple[Verify, float]:
    """``verify_signature`` and ``TOLERANCE_S`` from the page's code block that defines them."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (code,) = [b for b in blocks if "def verify_signature(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # our own page
    return namespace["verify_signature"], float(namespace["TOLERANCE_S"])


verify_signature, TOLERANCE_S = documented_check()
