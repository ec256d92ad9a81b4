"""The voice component's factory, listed in ``hallctl.wiring.FACTORIES``.

Kept apart from the service so that a hall without voice imports nothing of it (aiohttp, the
audio code): the daemon's memory floor counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallctl.components import Component
    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine


def voice(config: HallConfig, engine: HallEngine) -> Component | None:
    if config.voice is None:
        return None
    from hallctl.voice.service import VoiceService

    return VoiceService(config, engine)
