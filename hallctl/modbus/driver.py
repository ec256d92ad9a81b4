"""The generic Modbus driver: one device, its profile, its link and the hall.

Readings become requests (``inputs``), hall events become writes (``outputs``), and what the
device should show now is rendered from retained hall state (``render``) after every
(re)connect and after relevant events. Availability changes are reported to the hall as
``device_status`` requests, so they are journaled like everything else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

import structlog

from .codec import CodecError, Value, encode
from .config import ModbusDeviceConfig
from .health import DeviceHealth
from .line import LineDevice, ModbusLink, WriteOp
from .plan import ReadBlock, plan_groups, split_block
from .profile import InputRule, ModbusProfile, Write
from .template import TemplateError, render

log = structlog.get_logger("hallctl.modbus")


class EventRecord(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> str: ...  # JSON text


class HallPort(Protocol):
    """What a driver needs from the hall (``HallEngine`` satisfies it; see architecture.md)."""

    async def execute(self, request: Mapping[str, Any]) -> dict[str, Any]: ...
    def subscribe(self) -> AsyncIterator[Any]: ...
    def retained_state(self) -> dict[str, dict[str, Any]]: ...


def _firings(rule: InputRule, prev: Value | None, now: Value) -> list[tuple[int, Any]]:
    """(index, value) of each element of a point that fires ``rule``; index 0 for scalars."""
    olds: Sequence[Any] = prev if isinstance(prev, tuple) else [prev]
    news: Sequence[Any] = now if isinstance(now, tuple) else [now]
    out: list[tuple[int, Any]] = []
    for i, new in enumerate(news):
        old = olds[i] if prev is not None and i < len(olds) else None
        if rule.trigger == "latched":
            fire = bool(new)
        elif old is None:
            fire = False  # the first reading is a baseline, not an event
        elif rule.trigger == "change":
            fire = new != old
        else:
            fire = not old and bool(new)
        if fire:
            out.append((i, int(new) if isinstance(new, bool) else new))
    return out


class ModbusDriver:
    def __init__(
        self,
        device: ModbusDeviceConfig,
        profile: ModbusProfile,
        link: ModbusLink,
        port: HallPort,
    ) -> None:
        self.device = device
        self.profile = profile
        self.link = link
        self.port = port
        self._vars = device.template_vars()
        self._values: dict[str, Value] = {}
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._shown: dict[str, tuple[int, ...] | tuple[bool, ...]] = {}
        self._boot = f"{int(time.time()):x}"
        self._seq = itertools.count(1)
        # latched point -> (value, request id) until its clear is confirmed: a repeat read of
        # the same latch re-sends the same request id, so the hall counts the press once
        self._unclear: dict[tuple[str, int], tuple[Any, str]] = {}
        self.online = False
        settings = link.settings
        self.line_device = LineDevice(
            id=device.id,
            unit=device.unit,
            timeout=device.timeout or settings.timeout,
            retries=settings.retries if device.retries is None else device.retries,
            polls=plan_groups(profile, device.max_gap),
            on_data=self._on_data,
            on_availability=self._on_availability,
            health=DeviceHealth(settings.fail_threshold, settings.offline_backoff),
        )
        link.attach(self.line_device)

    # -- callbacks from the link (synchronous: hand over to our own task) ---------------------
    def _on_data(self, block: ReadBlock, raw: Sequence[int] | Sequence[bool]) -> None:
        self._inbox.put_nowait(("data", split_block(self.profile.points, block, raw)))

    def _on_availability(self, online: bool) -> None:
        self._inbox.put_nowait(("availability", online))

    # -- tasks -----------------------------------------------------------------------------------
    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._input_loop(), name=f"modbus-in-{self.device.id}")
            if self.profile.outputs or self.profile.render:
                tg.create_task(self._event_loop(), name=f"modbus-out-{self.device.id}")

    async def _input_loop(self) -> None:
        while True:
            kind, payload = await self._inbox.get()
            try:
                if kind == "availability":
                    await self._availability(bool(payload))
                else:
                    await self._readings(payload)
            except Exception:  # one bad reading or request must not stop the device
                log.exception("modbus.driver_failed", device=self.device.id)

    async def _availability(self, online: bool) -> None:
        self.online = online
        await self._execute({"action": "device_status", "device": self.device.id,
                             "online": online})
        if online:
            self._values.clear()  # what happened while away is unknown: new baseline
            self._shown.clear()
            await self.render_state(None)

    async def _readings(self, values: dict[str, Value]) -> None:
        for name, value in values.items():
            prev = self._values.get(name)
            self._values[name] = value
            for rule in self.profile.inputs:
                if rule.point == name:
                    for index, raw in _firings(rule, prev, value):
                        await self._fire(rule, index, raw)

    async def _fire(self, rule: InputRule, index: int, raw: Any) -> None:
        if rule.map is not None and raw not in rule.map:
            log.warning("modbus.unmapped_value", device=self.device.id, point=rule.point,
                        value=raw)
        else:
            mapped = rule.map[raw] if rule.map is not None else raw
            ctx = {**self._vars, "value": raw, "mapped": mapped, "index": index}
            try:
                request = render(rule.request, ctx)
            except TemplateError as exc:
                log.warning("modbus.template_failed", device=self.device.id,
                            point=rule.point, error=str(exc))
                return
            request_id = self._request_id(rule, index, raw)
            await self._execute(
                {"source": self.device.id, **request, "request_id": request_id}
            )
        if rule.trigger == "latched" and await self._clear(rule, index):
            self._unclear.pop((rule.point, index), None)

    async def _clear(self, rule: InputRule, index: int) -> bool:
        point = self.profile.points[rule.point]
        if point.table == "coil" and point.type == "bits":
            # release only the coil that fired: a press on its neighbour since the read
            # must not be wiped out by a whole-array write
            op = WriteOp("coil", point.address + index, (bool(rule.clear),))
            return await self.link.write(self.device.id, op)
        return await self.write_point(rule.point, rule.clear)

    def _request_id(self, rule: InputRule, index: int, raw: Any) -> str:
        held = self._unclear.get((rule.point, index))
        if rule.trigger == "latched" and held is not None and held[0] == raw:
            return held[1]
        rid = f"modbus:{self.device.id}:{rule.point}:{self._boot}:{next(self._seq)}"
        if rule.trigger == "latched":
            self._unclear[(rule.point, index)] = (raw, rid)
        return rid

    async def _execute(self, request: dict[str, Any]) -> None:
        answer = await self.port.execute(request)
        if not answer.get("ok"):
            log.warning("modbus.request_refused", device=self.device.id,
                        action=request.get("action"), error=answer.get("error"))

    async def _event_loop(self) -> None:
        async for record in self.port.subscribe():
            try:
                data = json.loads(record.data) if record.data else {}
                await self.on_event(record.type, data)
            except Exception:
                log.exception("modbus.event_failed", device=self.device.id, type=record.type)

    # -- outputs -----------------------------------------------------------------------------
    async def on_event(self, type_: str, data: dict[str, Any]) -> None:
        ctx = {**self._vars, "event": data, "type": type_}
        for rule in self.profile.outputs:
            if type_ not in rule.on:
                continue
            try:
                if any(data.get(k) != render(v, ctx) for k, v in rule.match.items()):
                    continue
            except TemplateError:
                continue
            await self._writes(rule.write, ctx, remember=False)
        await self.render_state(type_)

    async def render_state(self, event_type: str | None) -> None:
        """Write what the device should show for the current hall state (only differences,
        unless after a reconnect, when ``_shown`` was cleared)."""
        if not self.online or not self.profile.render:
            return
        state = self.port.retained_state()
        for rule in self.profile.render:
            if event_type is not None and rule.on and event_type not in rule.on:
                continue
            try:
                key = render(rule.state, self._vars)
            except TemplateError:
                continue
            ctx = {**self._vars, "state": state.get(str(key), {})}
            await self._writes(rule.write, ctx, remember=True)

    async def _writes(self, writes: list[Write], ctx: Mapping[str, Any], *, remember: bool) -> None:
        for w in writes:
            try:
                value = render(w.value, ctx)
            except TemplateError as exc:
                log.warning("modbus.template_failed", device=self.device.id, point=w.point,
                            error=str(exc))
                continue
            await self.write_point(w.point, value, remember=remember)

    async def write_point(self, name: str, value: Any, *, remember: bool = False) -> bool:
        point = self.profile.points[name]
        try:
            raw = encode(point, value)
        except CodecError as exc:
            log.warning("modbus.bad_value", device=self.device.id, point=name, error=str(exc))
            return False
        values = tuple(raw)
        if remember and self._shown.get(name) == values:
            return True
        op = WriteOp("coil" if point.table == "coil" else "holding", point.address, values)
        ok = await self.link.write(self.device.id, op)
        if remember:
            if ok:
                self._shown[name] = values
            else:
                self._shown.pop(name, None)
        return ok
