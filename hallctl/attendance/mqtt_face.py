"""MQTT face terminals: a profile says where the punch is in the payload; no code per vendor.

`MqttFaceMapper` is pure: the broker link hands it (topic, payload bytes) for every message on
the profile's topic and gets back an `AttendanceRecord` or a `MapError` (counted in `stats`,
reason as the key). Field references in a profile are dotted JSON paths (`info.personId`,
`records.0.time`, digits index lists) or topic levels (`$topic[2]`, 0-based).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hallctl import json_input
from hallctl.attendance.config import MqttFaceProfile
from hallctl.attendance.records import AttendanceRecord, record_key

_ID = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,47}$")  # as hall device ids
_TOPIC_LEVEL = re.compile(r"^\$topic\[(\d+)\]$")

MapReason = Literal[
    "not_json",  # payload is not a JSON object
    "not_a_punch",  # the profile's `match` says this message is something else (heartbeat…)
    "missing_field",
    "bad_staff_id",
    "bad_time",
    "no_direction",
    "unknown_terminal",
]


@dataclass(frozen=True, slots=True)
class MapError:
    reason: MapReason
    detail: str = ""


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching: `+` one level, `#` the rest (including none)."""
    filter_levels = topic_filter.split("/")
    levels = topic.split("/")
    for index, pattern in enumerate(filter_levels):
        if pattern == "#":
            return True
        if index >= len(levels) or (pattern != "+" and pattern != levels[index]):
            return False
    return len(levels) == len(filter_levels)


class MqttFaceMapper:
    def __init__(
        self, profile: MqttFaceProfile, terminals: Mapping[str, str], zone: ZoneInfo
    ) -> None:
        self.profile = profile
        self._terminals = dict(terminals)
        self._zone = zone
        self.stats: Counter[str] = Counter()

    def matches(self, topic: str) -> bool:
        return topic_matches(self.profile.topic, topic)

    def map(self, topic: str, payload: bytes) -> AttendanceRecord | MapError:
        result = self._map(topic, payload)
        self.stats["record" if isinstance(result, AttendanceRecord) else result.reason] += 1
        return result

    def _map(self, topic: str, payload: bytes) -> AttendanceRecord | MapError:
        try:
            message = json_input.loads(payload)
        except json_input.JsonInputError:
            return MapError("not_json")
        if not isinstance(message, dict):
            return MapError("not_json")
        for path, expected in self.profile.match.items():
            value = _resolve(path, topic, message)
            if isinstance(value, bool):
                value = "true" if value else "false"
            if _text(value) != expected:
                return MapError("not_a_punch")
        fields = self.profile.fields

        raw_device = _text(_resolve(fields.device_id, topic, message))
        if raw_device is None:
            return MapError("missing_field", fields.device_id)
        device = self._device(raw_device)
        if device is None:
            return MapError("unknown_terminal", raw_device[:64])

        staff = _text(_resolve(fields.staff_id, topic, message))
        if staff is None:
            return MapError("missing_field", fields.staff_id)
        if not _ID.match(staff):
            return MapError("bad_staff_id")

        raw_time = _resolve(fields.time, topic, message)
        if raw_time is None:
            return MapError("missing_field", fields.time)
        when = self._time(raw_time)
        if when is None:
            return MapError("bad_time", str(raw_time)[:64])

        direction = self.profile.direction_default
        if fields.direction is not None:
            raw_direction = _text(_resolve(fields.direction, topic, message))
            if raw_direction is not None:
                direction = self.profile.direction_map.get(raw_direction)
        if direction is None:
            return MapError("no_direction")

        return AttendanceRecord(
            device=device,
            source="mqtt_face",
            staff_external_id=staff,
            time=when,
            direction=direction,
            record_key=record_key(staff, when),
        )

    def _device(self, raw: str) -> str | None:
        if self._terminals:
            return self._terminals.get(raw)
        return raw if _DEVICE.match(raw) else None

    def _time(self, value: object) -> datetime | None:
        time_format = self.profile.time_format
        try:
            if time_format in ("epoch_s", "epoch_ms"):
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    return None
                seconds = float(value)
                if time_format == "epoch_ms":
                    seconds /= 1000
                return datetime.fromtimestamp(seconds, UTC)
            if not isinstance(value, str):
                return None
            if time_format == "iso8601":
                when = datetime.fromisoformat(value)
            else:
                when = datetime.strptime(value, time_format)
        except (ValueError, OverflowError, OSError):
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=self._zone)


def _resolve(reference: str, topic: str, message: dict[str, Any]) -> object:
    level = _TOPIC_LEVEL.match(reference)
    if level is not None:
        levels = topic.split("/")
        index = int(level.group(1))
        return levels[index] if index < len(levels) else None
    value: object = message
    for step in reference.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def _text(value: object) -> str | None:
    """Ids arrive as strings or numbers depending on firmware; both become text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return None
