"""Which components a hall file asks for, built as coroutines the daemon supervises.

Each component takes the engine (the HallPort every driver talks to) and runs until cancelled.
They are built here, not in the daemon, so the daemon stays about lifetimes only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from hallctl.config.models import HallConfig, HttpConfig
from hallctl.engine import HallEngine

log = structlog.get_logger("hallctl.wiring")

Component = Callable[[HallEngine], Awaitable[None]]
MqttHandler = Callable[[str, bytes], Awaitable[None]]
# (request message, reply) -> None, answered later through reply (see MqttLink responders)
MqttResponder = Callable[[Any, Any], None]


class Wiring:
    """What the components share: extra MQTT subscriptions (face terminals, kiosks)."""

    def __init__(self) -> None:
        self.mqtt_subscriptions: list[tuple[str, MqttHandler]] = []
        self.mqtt_responders: list[tuple[str, MqttResponder]] = []


def components(config: HallConfig, wiring: Wiring | None = None) -> list[Component]:
    wiring = wiring or Wiring()
    out: list[Component] = []
    attendance = _attendance(config, wiring)
    if attendance is not None:
        out.append(attendance)
    if config.modbus is not None:
        out.append(_modbus(config))
    kiosks = _kiosks(config, wiring)
    if kiosks is not None:
        out.append(kiosks)
    serial = _serial(config)
    if serial is not None:
        out.append(serial)
    mqtt = _mqtt(config, wiring)
    if mqtt is not None:
        out.append(mqtt)
    return out


def _modbus(config: HallConfig) -> Component:
    from hallctl.modbus.service import ModbusService

    assert config.modbus is not None
    section = config.modbus

    async def modbus(engine: HallEngine) -> None:
        await ModbusService(section, engine, base_dir=Path.cwd()).run()

    return modbus


def _attendance(config: HallConfig, wiring: Wiring) -> Component | None:
    if config.attendance is None:
        return None
    from hallctl.attendance.profiles import load_face_profiles
    from hallctl.attendance.service import AttendanceService

    section = config.attendance
    # clocks that push need the HTTP server: listen on the defaults when none is configured
    pushes = bool(section.adms.clocks or section.isapi.terminals)
    http = config.http or (HttpConfig() if pushes else None)
    staff = {x: s.id for s in config.staff for x in s.external_ids}
    staff.update({s.staff_no: s.id for s in config.staff})
    profiles = load_face_profiles({b.profile for b in section.mqtt})
    holder: dict[str, Any] = {}

    async def on_message(topic: str, payload: bytes) -> None:
        svc = holder.get("svc")
        if svc is not None:
            await svc.on_mqtt_message(topic, payload)

    async def attendance(engine: HallEngine) -> None:
        from hallctl.transports.http import HttpServer

        svc = holder["svc"] = AttendanceService.build(section, engine, profiles, staff=staff)
        server = (
            HttpServer(http.host, http.port, max_body=http.max_body_kib * 1024)
            if http is not None
            else None
        )
        async with contextlib.AsyncExitStack() as stack:
            if server is not None:
                server.add_routes(svc.routes())
                await stack.enter_async_context(server)
            await svc.run()  # returns at once when no clock is polled over TCP
            await asyncio.Event().wait()  # keep serving pushes until the daemon stops us

    # subscriptions are known from the profiles now; the handler finds the service once it runs
    for topic in sorted({profiles[b.profile].topic for b in section.mqtt}):
        wiring.mqtt_subscriptions.append((topic, on_message))
    return attendance


def _kiosks(config: HallConfig, wiring: Wiring) -> Component | None:
    if config.kiosks is None:
        return None
    if config.mqtt is None:
        log.warning("kiosks.need_mqtt", kiosks=len(config.kiosks.kiosks))
        return None
    from hallctl.kiosk.gateway import KioskGateway

    section = config.kiosks
    base = config.mqtt.topic_base(config.hall.id)
    holder: dict[str, KioskGateway] = {}

    def on_request(message: Any, reply: Any) -> None:
        gateway = holder.get("gateway")
        if gateway is None:  # the link came up first; the kiosk retries (same correlation)
            log.info("kiosks.not_ready")
            return
        gateway.submit(message, reply)

    async def kiosks(engine: HallEngine) -> None:
        gateway = holder["gateway"] = KioskGateway(engine, section, base)
        try:
            await asyncio.Event().wait()  # requests arrive through the MQTT link
        finally:
            del holder["gateway"]
            await gateway.aclose()

    wiring.mqtt_responders.append((KioskGateway.filter_for(base), on_request))
    return kiosks


def _serial(config: HallConfig) -> Component | None:
    if config.serial is None:
        return None
    from hallctl.drivers.serial_devices import SerialDevices

    section = config.serial

    async def serial(engine: HallEngine) -> None:
        await SerialDevices(section, engine, config).run()

    return serial


def _mqtt(config: HallConfig, wiring: Wiring) -> Component | None:
    if config.mqtt is None:
        return None
    from hallctl.mqtt.link import MqttLink

    settings = config.mqtt

    async def mqtt(engine: HallEngine) -> None:
        # leaving the context (daemon stop) publishes offline and disconnects cleanly
        async with MqttLink(
            engine, settings, extra=wiring.mqtt_subscriptions, responders=wiring.mqtt_responders
        ):
            await asyncio.Event().wait()  # until the daemon stops (cancels) us

    return mqtt
