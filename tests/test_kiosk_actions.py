"""Kiosk actions over MQTT 5, against a real Mosquitto, the real engine and journal, and the
gateway + link the daemon's wiring builds. Each test reads as one promise of docs/kiosks.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hallctl.broker import Mosquitto
from hallctl.kiosk.contract import kiosk_schemas
from hallctl.kiosk.sim import KioskSim
from tests.test_kiosk_support import BASE, Hall, running_hall
from tests.test_mqtt_support import BROKER_OPTIONS

SCHEMAS = kiosk_schemas()


@pytest.fixture
def broker(mosquitto_factory: Any) -> Mosquitto:
    return mosquitto_factory(extra_config=BROKER_OPTIONS)  # type: ignore[no-any-return]


@pytest.fixture
async def hall(broker: Mosquitto, tmp_path: Path) -> AsyncIterator[Hall]:
    async with running_hall(broker.url, tmp_path) as running:
        await running.do("open_window", window=1)
        await running.do("open_window", window=2)
        await running.do("open_window", window=3)
        yield running


@pytest.fixture
async def k1(hall: Hall) -> AsyncIterator[KioskSim]:
    async with hall.kiosk("K1") as kiosk:
        yield kiosk


async def ask(kiosk: KioskSim, action: str, fields: Any = None, **kw: Any) -> dict[str, Any]:
    """Ask and check the answer against the published schemas of that action."""
    answer = await kiosk.request(action, fields, **kw)
    jsonschema.validate(answer, SCHEMAS["kiosk/response.json"])
    if answer["ok"]:
        jsonschema.validate(answer["result"], SCHEMAS[f"kiosk/{action}.result.json"])
    return answer


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["ok"] is False, answer
    error: dict[str, Any] = answer["error"]
    assert error["message"] and error["message_zh"]  # every error in English and Chinese
    return error


# ---- list_services ------------------------------------------------------------------------


async def test_list_services_shows_each_guide_with_its_queue_and_who_serves_it(
    hall: Hall, k1: KioskSim
) -> None:
    await ask(k1, "take_ticket", {"service": "BDC"})
    answer = await ask(k1, "list_services")
    services = {s["service"]: s for s in answer["result"]["services"]}
    assert list(services) == ["BDC", "SB", "GJJ", "ZH"]  # the hall file's order
    bdc = services["BDC"]
    assert bdc["name"] == "不动产登记" and bdc["name_en"] == "Real estate registration"
    assert bdc["description"] == "不动产首次登记、转移登记"
    assert bdc["materials"] == ["身份证原件", "不动产权证书", "购房合同"]
    assert bdc["fees"] == "80元/件"
    assert (bdc["kind"], bdc["kind_zh"], bdc["promised_days"]) == ("promised", "承诺件", 5)
    assert bdc["legal_time_limit_days"] == 30
    assert [(w["window"], w["status"]) for w in bdc["windows"]] == [(1, "open"), (2, "open")]
    assert bdc["open_now"] is True and bdc["closed_reason"] is None
    assert bdc["waiting"] == 1
    assert bdc["est_wait_min"] == 0.0  # 1 waiting, 2 idle open windows: a new ticket goes at once
    assert services["SB"]["kind_zh"] == "即办件" and services["SB"]["fees"] == "不收费"
    assert services["GJJ"]["hours"] == ["09:00-12:00"]


async def test_list_services_says_why_a_service_is_not_open_now(
    hall: Hall, k1: KioskSim
) -> None:
    hall.clock.now = hall.clock.now.replace(hour=13)
    await hall.do("close_window", window=3)
    services = {s["service"]: s for s in (await ask(k1, "list_services"))["result"]["services"]}
    assert services["GJJ"]["open_now"] is False
    assert services["GJJ"]["closed_reason"] == "outside_hours"
    assert services["ZH"]["closed_reason"] == "service_closed"  # its only window is closed
    assert services["SB"]["open_now"] is True  # window 2 still serves it


# ---- take_ticket ----------------------------------------------------------------------------


async def test_take_ticket_issues_a_numbered_ticket_with_its_place_in_line(
    hall: Hall, k1: KioskSim
) -> None:
    first = await ask(k1, "take_ticket", {"service": "BDC"})
    second = await ask(k1, "take_ticket", {"service": "BDC"})
    assert first["result"]["ticket"] == "A001" and first["result"]["ahead"] == 0
    assert second["result"]["ticket"] == "A002" and second["result"]["ahead"] == 1
    assert second["result"]["kiosk"] == "K1"
    assert second["result"]["service_name"] == "不动产登记"
    # The journal knows which kiosk issued it (a printer routes by this source).
    await hall.events.wait_until(lambda: len(issued(hall)) == 2)
    assert [e["data"]["source"] for e in issued(hall)] == ["K1", "K1"]


def issued(hall: Hall) -> list[dict[str, Any]]:
    return [e for e in hall.events.events() if e["type"] == "ticket.issued"]


async def test_a_retry_with_the_same_correlation_returns_the_same_ticket_and_issues_none(
    hall: Hall, k1: KioskSim
) -> None:
    correlation = uuid.uuid4().bytes
    first = await ask(k1, "take_ticket", {"service": "SB"}, correlation=correlation)
    # The window closes before the retry arrives: the retry still gets its ticket back.
    await hall.do("close_window", window=2)
    again = await ask(k1, "take_ticket", {"service": "SB"}, correlation=correlation)
    assert again == first
    assert hall.journal_types().count("ticket.issued") == 1


async def test_a_retry_with_the_same_request_id_is_idempotent_too(
    hall: Hall, k1: KioskSim
) -> None:
    first = await ask(k1, "take_ticket", {"service": "BDC", "request_id": "touch-7"})
    again = await ask(k1, "take_ticket", {"service": "BDC", "request_id": "touch-7"})
    assert again == first
    # Scoped per kiosk: K2 using the same id gets its own ticket.
    async with hall.kiosk("K2") as k2:
        other = await ask(k2, "take_ticket", {"service": "BDC", "request_id": "touch-7"})
    assert other["result"]["ticket"] == "A002"


async def test_one_ticket_per_person_per_day_where_the_service_says_so(
    hall: Hall, k1: KioskSim
) -> None:
    ok = await ask(k1, "take_ticket", {"service": "GJJ", "phone": "13812345678"})
    assert ok["result"]["ticket"] == "C001"
    async with hall.kiosk("K2") as k2:  # another kiosk does not help
        error = error_of(await ask(k2, "take_ticket", {"service": "GJJ", "phone": "13812345678"}))
    assert error["code"] == "already_has_ticket"
    assert error["message_zh"] == "今日已取过该业务号"
    other = await ask(k1, "take_ticket", {"service": "GJJ", "phone": "13912345678"})
    assert other["result"]["ticket"] == "C002"
    # Services without the rule take the same person again.
    assert (await ask(k1, "take_ticket", {"service": "BDC", "phone": "13812345678"}))["ok"]


@pytest.mark.parametrize(
    ("service", "setup", "code", "zh"),
    [
        ("GJJ", "afternoon", "outside_hours", "当前不在取号时间内"),
        ("SB", "cap", "daily_cap_reached", "该业务今日号源已满"),
        ("ZH", "close_3", "service_closed", "该业务暂停取号"),
        ("XYZ", "", "unknown_service", "未知业务"),
    ],
)
async def test_a_ticket_that_cannot_be_issued_is_refused_clearly_and_changes_nothing(
    hall: Hall, k1: KioskSim, service: str, setup: str, code: str, zh: str
) -> None:
    if setup == "afternoon":
        hall.clock.now = hall.clock.now.replace(hour=13)
    if setup == "cap":  # SB: daily_cap 2
        for _ in range(2):
            await hall.do("take_ticket", service="SB")
    if setup == "close_3":
        await hall.do("close_window", window=3)
    before = hall.journal_types()
    error = error_of(await ask(k1, "take_ticket", {"service": service}))
    assert (error["code"], error["message_zh"]) == (code, zh)
    assert hall.journal_types() == before


async def test_a_paused_window_still_counts_as_serving_its_line(
    hall: Hall, k1: KioskSim
) -> None:
    await hall.do("pause_window", window=3, reason="午休")
    assert (await ask(k1, "take_ticket", {"service": "ZH"}))["result"]["ticket"] == "H001"


# ---- check_in -------------------------------------------------------------------------------


async def test_check_in_turns_an_appointment_code_into_an_appointment_ticket_once(
    hall: Hall, k1: KioskSim
) -> None:
    await hall.do("take_ticket", service="BDC")
    await hall.do("book_appointment", code="YY20261125001", service="BDC")
    answer = await ask(k1, "check_in", {"appointment_code": "YY20261125001"})
    result = answer["result"]
    assert result["channel"] == "appointment" and result["service"] == "BDC"
    assert result["appointment_code"] == "YY20261125001"
    assert result["ahead"] == 0  # appointments are called before the normal line
    again = error_of(await ask(k1, "check_in", {"appointment_code": "YY20261125001"}))
    assert again["code"] == "unknown_appointment" and again["message_zh"] == "预约码无效或已使用"


async def test_check_in_with_an_unknown_code_says_so_in_both_languages(
    hall: Hall, k1: KioskSim
) -> None:
    before = hall.journal_types()
    error = error_of(await ask(k1, "check_in", {"appointment_code": "NOPE"}))
    assert error["code"] == "unknown_appointment"
    assert error["message"].startswith("Unknown or used appointment code")
    assert hall.journal_types() == before


# ---- green_ticket ---------------------------------------------------------------------------


async def test_a_green_channel_kiosk_issues_green_tickets_ahead_of_the_line(
    hall: Hall, k1: KioskSim
) -> None:
    await ask(k1, "take_ticket", {"service": "BDC"})
    async with hall.kiosk("KG") as kg:
        green = await ask(kg, "green_ticket", {"service": "BDC"})
        refused = error_of(await ask(kg, "green_ticket", {"service": "ZH"}))
    assert green["result"]["channel"] == "green" and green["result"]["ahead"] == 0
    assert refused["code"] == "green_not_allowed"  # ZH has no green channel


# ---- queue_status ---------------------------------------------------------------------------


async def test_queue_status_gives_each_line_and_the_people_ahead_of_a_ticket(
    hall: Hall, k1: KioskSim
) -> None:
    for _ in range(3):
        await ask(k1, "take_ticket", {"service": "BDC"})
    answer = await ask(k1, "queue_status", {"ticket": "A003"})
    queues = {q["service"]: q for q in answer["result"]["services"]}
    assert queues["BDC"]["waiting"] == 3 and queues["SB"]["waiting"] == 0
    ticket = answer["result"]["ticket"]
    assert (ticket["state"], ticket["ahead"], ticket["est_wait_min"]) == ("waiting", 2, 10.0)
    await hall.do("call_next", window=1)
    called = (await ask(k1, "queue_status", {"ticket": "A001"}))["result"]["ticket"]
    assert (called["state"], called["window"], called["window_name"]) == ("called", 1, "1号窗口")
    one = await ask(k1, "queue_status", {"service": "BDC"})
    assert [q["service"] for q in one["result"]["services"]] == ["BDC"]
    assert one["result"]["services"][0]["waiting"] == 2


async def test_queue_status_of_an_unknown_ticket_or_service_is_an_error(k1: KioskSim) -> None:
    assert error_of(await ask(k1, "queue_status", {"ticket": "A999"}))["code"] == "unknown_ticket"
    assert error_of(await ask(k1, "queue_status", {"service": "X"}))["code"] == "unknown_service"


# ---- reprint_last ---------------------------------------------------------------------------


async def test_reprint_last_asks_the_printer_again_for_this_kiosks_last_ticket(
    hall: Hall, k1: KioskSim
) -> None:
    await ask(k1, "take_ticket", {"service": "BDC"})
    await ask(k1, "take_ticket", {"service": "SB"})
    async with hall.kiosk("K2") as k2:
        await ask(k2, "take_ticket", {"service": "BDC"})  # another kiosk's ticket is not K1's
    answer = await ask(k1, "reprint_last")
    assert answer["result"]["ticket"] == "B001"
    await hall.events.wait_until(
        lambda: any(e["type"] == "ticket.reprint_requested" for e in hall.events.events())
    )
    reprint = next(e for e in hall.events.events() if e["type"] == "ticket.reprint_requested")
    assert reprint["data"]["ticket"] == "B001" and reprint["data"]["source"] == "K1"


async def test_reprint_last_before_any_ticket_is_an_error(hall: Hall, k1: KioskSim) -> None:
    error = error_of(await ask(k1, "reprint_last"))
    assert error["code"] == "unknown_ticket" and error["message_zh"] == "未知号码"


async def test_reprint_last_never_reprints_yesterdays_number(hall: Hall, k1: KioskSim) -> None:
    await ask(k1, "take_ticket", {"service": "BDC"})
    hall.clock.now = hall.clock.now.replace(day=26)
    await hall.do("take_ticket", service="BDC")  # today's A001 belongs to somebody else
    assert error_of(await ask(k1, "reprint_last"))["code"] == "unknown_ticket"


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code", "zh"),
    [
        (b"{not json", "bad_json", "请求内容不是有效的 UTF-8 JSON"),
        (b"\xff\xfe", "bad_json", "请求内容不是有效的 UTF-8 JSON"),
        (b"[1]", "bad_request", "请求格式错误"),
        (b'{"service": "BDC", "colour": "red"}', "bad_request", "请求格式错误"),
        (b'{"action": "call_next", "service": "BDC"}', "bad_request", "请求格式错误"),
        (b'{"service": "BDC", "phone": "12345"}', "bad_request", "请求格式错误"),
        (b'{"service": "BDC", "phone": "13812345678", "id_number": "11010119900307123X"}',
         "bad_request", "请求格式错误"),
    ],
)
async def test_bad_input_is_answered_in_both_languages_and_issues_nothing(
    hall: Hall, k1: KioskSim, payload: bytes, code: str, zh: str
) -> None:
    before = hall.journal_types()
    error = error_of(await ask(k1, "take_ticket", payload))
    assert (error["code"], error["message_zh"]) == (code, zh)
    assert "12345" not in error["message"] and "1381234" not in error["message"]  # no echo
    assert hall.journal_types() == before


async def test_an_empty_payload_is_an_empty_request(k1: KioskSim) -> None:
    assert (await ask(k1, "list_services", b""))["ok"] is True


async def test_a_request_without_response_topic_issues_nothing(
    hall: Hall, k1: KioskSim
) -> None:
    await k1.client.publish(f"{BASE}/kiosk/K1/request/take_ticket", b'{"service": "BDC"}', qos=1)
    # A later request on the same connection is answered: the first one was seen and dropped.
    await ask(k1, "list_services")
    assert "ticket.issued" not in hall.journal_types()
