"""Which components a hall file asks for, and the edges they share.

`FACTORIES` lists one factory per surface; each gets the hall file and the engine and returns a
component, or None when the hall file does not ask for it. `compose` builds them all, then the
edges from what they declared: one HTTP front serving every route, one MQTT link carrying every
subscription and responder. The daemon only supervises the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from hallctl.components import Component, Factory, MqttResponder, Needs
from hallctl.config.models import HallConfig, HttpConfig
from hallctl.engine import HallEngine
from hallctl.supervision.daily import reports as daily_reports
from hallctl.voice.factory import voice

if TYPE_CHECKING:  # aiohttp (10 MB resident) loads only for a hall with an HTTP front
    from aiohttp.web import RouteDef

log = structlog.get_logger("hallctl.wiring")


class AttendanceComponent:
    """Face clocks: HTTP pushes (ADMS, ISAPI), MQTT terminals, ZKTeco TCP clocks polled."""

    name = "attendance"

    def __init__(self, config: HallConfig, engine: HallEngine) -> None:
        from hallctl.attendance.profiles import load_face_profiles
        from hallctl.attendance.service import AttendanceService

        assert config.attendance is not None
        section = config.attendance
        staff = {x: s.id for s in config.staff for x in s.external_ids}
        staff.update({s.staff_no: s.id for s in config.staff})
        profiles = load_face_profiles({b.profile for b in section.mqtt})
        self.service = AttendanceService.build(section, engine, profiles, staff=staff)

    def needs(self) -> Needs:
        return Needs(
            routes=self.service.routes(),
            mqtt_subscriptions=[
                (topic, self.service.on_mqtt_message) for topic in self.service.mqtt_topics()
            ],
        )

    async def run(self) -> None:
        await self.service.run()  # returns at once when no clock is polled over TCP
        await asyncio.Event().wait()  # pushes arrive through the HTTP front and the link


def attendance(config: HallConfig, engine: HallEngine) -> Component | None:
    return AttendanceComponent(config, engine) if config.attendance is not None else None


class ModbusComponent:
    name = "modbus"

    def __init__(self, config: HallConfig, engine: HallEngine) -> None:
        from hallctl.modbus.service import ModbusService

        assert config.modbus is not None
        self.service = ModbusService(config.modbus, engine, base_dir=Path.cwd())

    def needs(self) -> Needs:
        return Needs()

    async def run(self) -> None:
        await self.service.run()


def modbus(config: HallConfig, engine: HallEngine) -> Component | None:
    return ModbusComponent(config, engine) if config.modbus is not None else None


class KioskComponent:
    """Kiosks: one gateway (permissions, rate limits) behind both doors a kiosk may use, the
    MQTT responder and its page's HTTP API (a kiosk is one identity whichever way it talks)."""

    name = "kiosks"

    def __init__(self, config: HallConfig, engine: HallEngine) -> None:
        from hallctl.kiosk.gateway import KioskGateway

        assert config.kiosks is not None
        self.mqtt = config.mqtt is not None
        self.base = (config.mqtt.topic_base(config.hall.id) if config.mqtt is not None
                     else f"hallctl/{config.hall.id}")
        self.gateway = KioskGateway(engine, config.kiosks, self.base)
        self.routes: list[RouteDef] = []
        if config.web is not None:
            from hallctl.web.kiosk_api import KioskPageApi

            api = KioskPageApi(config, config.web, config.kiosks, self.gateway, engine)
            self.routes = api.routes()

    def needs(self) -> Needs:
        responders: list[tuple[str, MqttResponder]] = []
        if self.mqtt:
            responders.append((self.gateway.filter_for(self.base), self.gateway.submit))
        return Needs(routes=list(self.routes), mqtt_responders=responders)

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()  # requests arrive through the MQTT link
        finally:
            await self.gateway.aclose()


def kiosks(config: HallConfig, engine: HallEngine) -> Component | None:
    if config.kiosks is None:
        return None
    if config.mqtt is None and config.web is None:
        log.warning("kiosks.need_mqtt_or_web", kiosks=len(config.kiosks.kiosks))
        return None
    return KioskComponent(config, engine)


class SerialComponent:
    name = "serial"

    def __init__(self, config: HallConfig, engine: HallEngine) -> None:
        from hallctl.drivers.serial_devices import SerialDevices

        assert config.serial is not None
        self.devices = SerialDevices(config.serial, engine, config)

    def needs(self) -> Needs:
        return Needs()

    def status(self) -> dict[str, Any]:
        """Per line: connected, frames decoded and bad frames by reason (`hallctl status`)."""
        return self.devices.stats()

    async def run(self) -> None:
        await self.devices.run()


def serial(config: HallConfig, engine: HallEngine) -> Component | None:
    return SerialComponent(config, engine) if config.serial is not None else None


def sinks(config: HallConfig, engine: HallEngine) -> Component | None:
    from hallctl.forward.sinks import build

    return build(config, engine)


def accounts(config: HallConfig, engine: HallEngine) -> Component | None:
    if config.http is None or not config.staff:
        return None  # log-in needs the HTTP front; nothing is imported for a hall without it
    from hallctl.accounts.http import build

    return build(config, engine)


def pages(config: HallConfig, engine: HallEngine) -> Component | None:
    if config.web is None:
        return None
    from hallctl.web.component import WebPages

    return WebPages(config, config.web, engine)


# One line per surface. Order is start order; edges (HTTP front, MQTT link) come after all.
FACTORIES: tuple[Factory, ...] = (
    attendance, modbus, kiosks, serial, voice, pages, accounts, sinks, daily_reports
)


class HttpFront:
    """The one HTTP server: every component's routes, configured by the `http:` section."""

    name = "http"

    def __init__(self, config: HttpConfig, needs: Needs) -> None:
        from hallctl.transports.http import HttpServer, tls_context

        tls = None
        if config.tls_cert is not None and config.tls_key is not None:
            tls = tls_context(config.tls_cert, config.tls_key)
        self.server = HttpServer(
            config.host,
            config.port,
            max_body=config.max_body_kib * 1024,
            header_timeout=config.header_timeout_s,
            body_timeout=config.body_timeout_s,
            ssl_context=tls,
        )
        self.server.add_routes(needs.routes)
        self.started = asyncio.Event()  # set once listening: tests and the demo read the port

    def needs(self) -> Needs:
        return Needs()

    async def run(self) -> None:
        async with self.server:
            self.started.set()
            await asyncio.Event().wait()  # until the daemon stops (cancels) us


class MqttComponent:
    """The one MQTT link: retained state, requests, and components' topics."""

    name = "mqtt"

    def __init__(
        self,
        config: HallConfig,
        engine: HallEngine,
        needs: Needs,
        retained: Callable[[], dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        assert config.mqtt is not None
        self.settings = config.mqtt
        self.engine = engine
        self.extra = needs
        self.retained = retained  # components' retained topics besides the hall's (sink health)

    def needs(self) -> Needs:
        return Needs()  # events are forwarded by the sinks component (cursor `mqtt`)

    async def run(self) -> None:
        from hallctl.mqtt.link import MqttLink

        # leaving the context (daemon stop) publishes offline and disconnects cleanly
        async with MqttLink(
            self.engine,
            self.settings,
            extra=self.extra.mqtt_subscriptions,
            responders=self.extra.mqtt_responders,
            retained=self.retained,
        ):
            await asyncio.Event().wait()  # until the daemon stops (cancels) us


def compose(
    config: HallConfig, engine: HallEngine, factories: tuple[Factory, ...] = FACTORIES
) -> list[Component]:
    """Every component the hall file asks for, then the edges that serve what they declared."""
    parts = [c for c in (factory(config, engine) for factory in factories) if c is not None]
    needs = Needs.union(c.needs() for c in parts)
    out: list[Component] = list(parts)
    if needs.routes or config.http is not None:
        # components that need routes get the front on its defaults when none is configured
        out.append(HttpFront(config.http or HttpConfig(), needs))
    if config.mqtt is not None:
        out.append(MqttComponent(config, engine, needs, retained=_retained(parts)))
    elif needs.mqtt_subscriptions or needs.mqtt_responders:
        log.warning("wiring.mqtt_needed", subscriptions=len(needs.mqtt_subscriptions))
    # pages that show other components' health (the supervisor's: sinks, serial lines) read it
    # through this, once every component exists
    for part in out:
        see = getattr(part, "see_status", None)
        if callable(see):
            see(lambda: component_status(out))
    return out


def component_status(components: list[Component]) -> dict[str, Any]:
    """What the components that can tell (a `status()` method) add to a status answer."""
    out: dict[str, Any] = {}
    for c in components:
        status = getattr(c, "status", None)
        if callable(status):
            out[c.name] = status()
    return out


def _retained(parts: list[Component]) -> Callable[[], dict[str, dict[str, Any]]] | None:
    """Retained topics that components other than the hall publish (`state/sinks/<name>`)."""
    providers = [p for p in (getattr(c, "retained_state", None) for c in parts) if callable(p)]
    if not providers:
        return None
    return lambda: {k: v for provider in providers for k, v in provider().items()}


def cursors(components: list[Component]) -> list[str]:
    """Journal cursors retention must respect: every forwarding component's."""
    return Needs.union(c.needs() for c in components).cursors
