"""MQTT face terminals: declarative profiles turn (topic, payload) into punches.

The profiles shipped in devices/face-*.yaml are loaded as a hall integrator would write them;
one test carries messages through a real Mosquitto broker into the sink.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from hallctl.attendance.config import MqttFaceProfile
from hallctl.attendance.mqtt_face import MapError, MqttFaceMapper, topic_matches
from hallctl.attendance.records import AttendanceRecord
from hallctl.attendance.sink import AttendanceSink, StaffDirectory
from hallctl.broker import Mosquitto
from tests.attendance_recorder import HallRecorder

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEVICES = Path(__file__).resolve().parent.parent / "devices"


def load_profile(name: str) -> MqttFaceProfile:
    data = YAML(typ="safe").load((DEVICES / ("face-" + name + ".yaml")).read_text("utf-8"))
    return MqttFaceProfile.model_validate(data)


def payload(**fields: Any) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


PUNCH = {
    "type": "recognition",
    "personId": "0105",
    "name": "王芳",
    "time": "2026-11-25T08:59:01+08:00",
    "direction": "in",
    "score": 0.93,
}


@pytest.fixture
def generic() -> MqttFaceMapper:
    return MqttFaceMapper(load_profile("generic-json"), {}, SHANGHAI)


def test_every_shipped_face_profile_is_valid() -> None:
    names = sorted(p.stem.removeprefix("face-") for p in DEVICES.glob("face-*.yaml"))
    assert names, "no face profiles shipped"
    for name in names:
        assert load_profile(name).name == name


def test_a_generic_punch_becomes_a_record_with_the_topic_s_terminal_id(
    generic: MqttFaceMapper,
) -> None:
    record = generic.map("face/FT-01/punch", payload(**PUNCH))
    assert record == AttendanceRecord(
        device="FT-01",
        source="mqtt_face",
        staff_external_id="0105",
        time=datetime(2026, 11, 25, 0, 59, 1, tzinfo=UTC),
        direction="in",
        record_key="0105@20261125T005901Z",
    )
    assert generic.stats["record"] == 1


def test_terminal_ids_map_to_hall_device_ids_and_unlisted_terminals_are_refused() -> None:
    mapper = MqttFaceMapper(load_profile("generic-json"), {"FT-01": "face-lobby"}, SHANGHAI)
    record = mapper.map("face/FT-01/punch", payload(**PUNCH))
    assert isinstance(record, AttendanceRecord) and record.device == "face-lobby"
    assert mapper.map("face/FT-99/punch", payload(**PUNCH)) == MapError("unknown_terminal", "FT-99")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x89PNG\r\n", "not_json"),
        (b"[1, 2]", "not_json"),
        (payload(**{**PUNCH, "type": "heartbeat"}), "not_a_punch"),
        (payload(**{k: v for k, v in PUNCH.items() if k != "personId"}), "missing_field"),
        (payload(**{**PUNCH, "personId": "../../etc"}), "bad_staff_id"),
        (payload(**{**PUNCH, "time": "yesterday"}), "bad_time"),
        (payload(**{**PUNCH, "direction": "sideways"}), "no_direction"),
    ],
    ids=["binary", "array", "heartbeat", "no-staff", "bad-staff", "bad-time", "bad-direction"],
)
def test_messages_that_are_not_punches_give_a_counted_reason(
    generic: MqttFaceMapper, raw: bytes, reason: str
) -> None:
    result = generic.map("face/FT-01/punch", raw)
    assert isinstance(result, MapError) and result.reason == reason
    assert generic.stats[reason] == 1
    assert generic.stats["record"] == 0


def test_single_door_profile_reads_epoch_numbers_and_the_default_direction() -> None:
    mapper = MqttFaceMapper(load_profile("single-door"), {}, SHANGHAI)
    message = payload(device={"sn": "FT-02"}, person={"no": 105}, ts=1795568341, result=1)
    record = mapper.map("hall/face/FT-02/rec", message)
    assert isinstance(record, AttendanceRecord)
    assert (record.device, record.staff_external_id, record.direction) == ("FT-02", "105", "in")
    assert record.time == datetime.fromtimestamp(1795568341, UTC)
    stranger = payload(device={"sn": "FT-02"}, person={"no": 0}, ts=1795568341, result=0)
    assert mapper.map("hall/face/FT-02/rec", stranger) == MapError("not_a_punch")


def test_a_strptime_pattern_reads_hall_local_time_and_list_indexes_work() -> None:
    profile = MqttFaceProfile.model_validate(
        {
            "name": "capture",
            "topic": "topic/face/capture/request/+",
            "fields": {
                "device_id": "$topic[4]",
                "staff_id": "matches.0.person_id",
                "time": "cap_time",
                "direction": "io",
            },
            "time_format": "%Y/%m/%d %H:%M:%S.%f",
            "direction_map": {"0": "in", "1": "out"},
        }
    )
    mapper = MqttFaceMapper(profile, {}, SHANGHAI)
    message = payload(cap_time="2026/11/25 17:31:02.250", matches=[{"person_id": "S-031"}], io=1)
    record = mapper.map("topic/face/capture/request/dev42", message)
    assert isinstance(record, AttendanceRecord)
    assert record.time.isoformat() == "2026-11-25T17:31:02.250000+08:00"
    assert (record.device, record.staff_external_id, record.direction) == (
        "dev42",
        "S-031",
        "out",
    )


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("face/+/punch", "face/FT-01/punch", True),
        ("face/+/punch", "face/FT-01/punch/extra", False),
        ("face/#", "face", True),
        ("face/#", "face/a/b", True),
        ("face/+", "face", False),
        ("face/x", "face/y", False),
    ],
)
def test_topic_filters_follow_mqtt_wildcards(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_a_profile_without_any_direction_source_is_refused() -> None:
    with pytest.raises(ValidationError, match="direction"):
        MqttFaceProfile.model_validate(
            {
                "name": "broken",
                "topic": "x/+",
                "fields": {"device_id": "$topic[1]", "staff_id": "id", "time": "t"},
            }
        )


async def test_punches_published_to_a_real_broker_reach_the_hall(mosquitto: Mosquitto) -> None:
    hall = HallRecorder()
    now = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
    sink = AttendanceSink(hall, StaffDirectory({"0105": "S005"}), now=lambda: now)
    mapper = MqttFaceMapper(load_profile("generic-json"), {"FT-01": "face-lobby"}, SHANGHAI)
    prefix = "t" + uuid.uuid4().hex[:8] + "/"
    topic_filter = prefix + mapper.profile.topic
    messages = [
        payload(type="heartbeat"),
        payload(**PUNCH),
        payload(**PUNCH),  # the terminal's resend
        payload(**{**PUNCH, "direction": "out", "time": "2026-11-25T09:10:00+08:00"}),
    ]

    async with (
        aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="hall-" + prefix[1:-1]) as hub,
        aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="term-" + prefix[1:-1]) as term,
    ):
        await hub.subscribe(topic_filter, qos=1)
        for body in messages:
            await term.publish(prefix + "face/FT-01/punch", body, qos=1)
        seen = 0
        async with asyncio.timeout(5):
            async for message in hub.messages:
                seen += 1
                topic = message.topic.value.removeprefix(prefix)
                assert isinstance(message.payload, bytes) and mapper.matches(topic)
                result = mapper.map(topic, message.payload)
                if isinstance(result, AttendanceRecord):
                    await sink.deliver([result])
                if seen == len(messages):
                    break

    assert hall.punches() == [
        ("staff_check_in", "S005", "face-lobby", "2026-11-25T08:59:01+08:00"),
        ("staff_check_out", "S005", "face-lobby", "2026-11-25T09:10:00+08:00"),
    ]
    assert mapper.stats["not_a_punch"] == 1
