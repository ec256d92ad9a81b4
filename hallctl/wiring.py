"""Which components a hall file asks for: the MQTT link and each device section."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hallctl.config.models import HallConfig
from hallctl.engine import HallEngine

Component = Callable[[HallEngine], Awaitable[None]]


def components(config: HallConfig) -> list[Component]:
    out: list[Component] = []
    return out
