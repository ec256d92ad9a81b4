"""What a component is: a surface of the hall that declares what it needs from the shared edges.

A component (the kiosk gateway, the attendance receivers, a page, a sink, the voice output) is
built once the engine exists, so its handlers are bound methods of an object that already holds
the engine. It states in `needs()` what it wants from the edges the daemon owns (HTTP routes on
the one front, MQTT subscriptions and responders on the one link, journal cursors that retention
must respect) and runs until cancelled. The daemon composes them (`hallctl.wiring`); a new
surface is a new component, not an edit to the daemon.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from hallctl.config.models import HallConfig
    from hallctl.engine import HallEngine

MqttHandler = Callable[[str, bytes], Awaitable[None]]
# (request message, reply): answered later through reply (see MqttLink responders)
MqttResponder = Callable[[Any, Any], None]


@dataclass
class Needs:
    """What a component asks of the shared edges; gathered before any edge starts."""

    routes: list[web.RouteDef] = field(default_factory=list)
    mqtt_subscriptions: list[tuple[str, MqttHandler]] = field(default_factory=list)
    mqtt_responders: list[tuple[str, MqttResponder]] = field(default_factory=list)
    # journal cursors this component forwards from: retention never prunes past the slowest
    cursors: list[str] = field(default_factory=list)

    @classmethod
    def union(cls, parts: Iterable[Needs]) -> Needs:
        out = cls()
        for part in parts:
            out.routes += part.routes
            out.mqtt_subscriptions += part.mqtt_subscriptions
            out.mqtt_responders += part.mqtt_responders
            out.cursors += [c for c in part.cursors if c not in out.cursors]
        return out


class Component(Protocol):
    """A surface of the hall: declares its needs, then runs until cancelled (supervised)."""

    name: str

    def needs(self) -> Needs: ...

    async def run(self) -> None: ...


Factory = Callable[["HallConfig", "HallEngine"], "Component | None"]
