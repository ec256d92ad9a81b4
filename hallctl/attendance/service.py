"""Wiring of the attendance sources from one `AttendanceConfig`, for the daemon.

service = AttendanceService.build(config.attendance, engine, face_profiles)
http.add_routes(service.routes())                  # before the HttpServer starts
for topic in service.mqtt_topics(): ...            # the MQTT link subscribes
await service.on_mqtt_message(topic, payload)      # … and hands every message here
task_group.create_task(service.run())              # ZKTeco TCP clocks, if any
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from aiohttp import web

from hallctl.attendance.config import AttendanceConfig, MqttFaceProfile
from hallctl.attendance.hikvision_isapi import IsapiReceiver
from hallctl.attendance.mqtt_face import MqttFaceMapper
from hallctl.attendance.records import AttendanceRecord
from hallctl.attendance.sink import AttendanceSink, ExecutePort, StaffDirectory
from hallctl.attendance.store import AttendanceStore
from hallctl.attendance.zkteco_adms import AdmsReceiver
from hallctl.attendance.zkteco_tcp import ZkTcpClient

log = structlog.get_logger(__name__)


@dataclass
class AttendanceService:
    sink: AttendanceSink
    adms: AdmsReceiver
    isapi: IsapiReceiver
    mappers: list[MqttFaceMapper] = field(default_factory=list)
    tcp_clients: list[ZkTcpClient] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        config: AttendanceConfig,
        port: ExecutePort,
        profiles: Mapping[str, MqttFaceProfile],
        *,
        staff: Mapping[str, str] | None = None,
        store: AttendanceStore | None = None,
    ) -> AttendanceService:
        """`staff` adds clock-id → hall-id pairs (e.g. staff numbers from the hall file);
        the attendance section's own `staff` map wins where both name an id. Unreadable punch
        lines and key bindings go to `store`, by default tables in the engine's journal file."""
        zone = config.zone
        directory = StaffDirectory({**(staff or {}), **config.staff})
        sink = AttendanceSink(
            port,
            directory,
            dedup_window_s=config.dedup_window_s,
            max_age=timedelta(hours=config.max_age_h),
            max_future=timedelta(seconds=config.max_future_s),
        )
        pictures = config.picture_dir if config.keep_pictures else None
        mappers = []
        for binding in config.mqtt:
            profile = profiles.get(binding.profile)
            if profile is None:
                raise ValueError("attendance.mqtt: no face profile named " + binding.profile)
            mappers.append(MqttFaceMapper(profile, binding.terminals, zone))
        return cls(
            sink=sink,
            adms=AdmsReceiver(config.adms, sink, zone, store or _journal_store(port)),
            isapi=IsapiReceiver(config.isapi, sink, zone, picture_dir=pictures),
            mappers=mappers,
            tcp_clients=[
                ZkTcpClient(clock, config.zk_tcp, sink, zone) for clock in config.zk_tcp.clocks
            ],
        )

    def status(self) -> dict[str, object]:
        """What the receivers know, for status output: counters, clocks' own device
        information (ZKTeco INFO), and how many unreadable lines wait in the quarantine."""
        return {
            "adms": dict(self.adms.stats),
            "isapi": dict(self.isapi.stats),
            "delivery": dict(self.sink.stats),
            "device_info": {device: dict(info) for device, info in self.adms.device_info.items()},
            "quarantined_lines": self.adms.quarantine.count(),
        }

    def routes(self) -> list[web.RouteDef]:
        return self.adms.routes() + self.isapi.routes()

    def mqtt_topics(self) -> list[str]:
        return sorted({mapper.profile.topic for mapper in self.mappers})

    async def on_mqtt_message(self, topic: str, payload: bytes) -> None:
        """Map a message with every profile whose topic matches; deliver the punches."""
        records: list[AttendanceRecord] = []
        for mapper in self.mappers:
            if not mapper.matches(topic):
                continue
            result = mapper.map(topic, payload)
            if isinstance(result, AttendanceRecord):
                records.append(result)
            elif result.reason != "not_a_punch":
                log.warning(
                    "attendance.mqtt_unmapped",
                    profile=mapper.profile.name,
                    topic=topic,
                    reason=result.reason,
                    detail=result.detail,
                )
        if records:
            # MQTT has no answer to the terminal: a punch the hall could not take is logged
            # by the sink and stays in the terminal's own records.
            await self.sink.deliver(records)

    async def run(self) -> None:
        """Keep the ZKTeco TCP clocks connected until cancelled."""
        if not self.tcp_clients:
            return
        async with asyncio.TaskGroup() as group:
            for client in self.tcp_clients:
                group.create_task(client.run())


def _journal_store(port: ExecutePort) -> AttendanceStore:
    journal = getattr(port, "journal", None)
    path = getattr(journal, "path", None)
    if path is None:
        log.warning("attendance.store_in_memory")
    return AttendanceStore(path)
