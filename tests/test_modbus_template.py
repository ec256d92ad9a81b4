"""Profile templates: `default:` covers a value missing anywhere before it in the filter chain."""

from __future__ import annotations

import pytest

from hallctl.modbus.template import TemplateError, render

IDLE = {"state": {"current": None, "waiting": 0}}
BUSY = {"state": {"current": {"ticket": "A012"}, "waiting": 3}}


def test_default_after_a_filter_covers_a_missing_value() -> None:
    assert render("{state.current.ticket|digits|default:0}", IDLE) == "0"
    assert render("{state.current.ticket|digits|default:0}", BUSY) == 12


def test_a_missing_value_without_default_is_still_an_error() -> None:
    with pytest.raises(TemplateError, match="nothing there"):
        render("{state.current.ticket|digits}", IDLE)
    with pytest.raises(TemplateError, match="unknown filter"):
        render("{state.waiting|shout}", BUSY)
