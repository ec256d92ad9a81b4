"""How tickets, windows and the template are read aloud, and which clips a hall needs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hallctl.voice.config import VoiceSection
from hallctl.voice.reading import needed_keys, read, ticket_keys, zh_number


def test_the_usual_hall_style_reads_letter_and_digits_one_by_one() -> None:
    assert ticket_keys("A012") == ["A", "0", "1", "2"]
    assert ticket_keys("AB0101", yao=True) == ["A", "B", "0", "幺", "0", "幺"]


@pytest.mark.parametrize(
    ("n", "keys"),
    [
        (0, ["0"]),
        (7, ["7"]),
        (10, ["十"]),
        (12, ["十", "2"]),
        (20, ["2", "十"]),
        (99, ["9", "十", "9"]),
        (100, ["1", "百"]),
        (105, ["1", "百", "0", "5"]),
        (110, ["1", "百", "1", "十"]),
        (1005, ["1", "千", "0", "5"]),
        (1050, ["1", "千", "0", "5", "十"]),
        (2300, ["2", "千", "3", "百"]),
    ],
)
def test_as_a_number(n: int, keys: list[str]) -> None:
    assert zh_number(n) == keys


def test_number_style_drops_leading_zeros() -> None:
    assert ticket_keys("A012", "number") == ["A", "十", "2"]


def test_not_a_ticket_is_refused() -> None:
    with pytest.raises(ValueError, match="not a ticket"):
        ticket_keys("12-A")


def test_template_spaces_separate_clips_and_are_not_spoken() -> None:
    r = read("请 {ticket} 号 到 {window} 办理", "A012", {"window": "5号窗口"})
    assert r.keys == ["请", "A", "0", "1", "2", "号", "到", "5号窗口", "办理"]
    assert r.text == "请A012号到5号窗口办理"


def test_english_follows_the_mandarin() -> None:
    r = read(
        "请{ticket}号到{window}办理", "B7", {"window": "综合受理窗口"},
        template_en="Number {ticket}, please go to window {window}.", names_en={"window": "12"},
    )
    assert r.keys[:6] == ["请", "B", "7", "号到", "综合受理窗口", "办理"]
    assert r.keys[6:] == ["en:Number", "en:B", "en:7", "en:please go to window", "en:1", "en:2"]
    assert r.text == "请B7号到综合受理窗口办理 Number B7, please go to window 12."


def test_a_hall_needs_digits_its_letters_words_and_window_names() -> None:
    windows = {"window": ["5号窗口", "综合受理窗口"], "service": ["社保"]}
    keys = needed_keys(["请 {ticket} 号 到 {window} 办理"], ["A", "BC"], windows)
    assert keys["0"] == "零" and keys["9"] == "九"
    assert {"A", "B", "C", "请", "号", "到", "办理", "5号窗口", "综合受理窗口"} <= set(keys)
    assert "十" not in keys and "幺" not in keys
    assert "社保" not in keys  # no template says {service}
    assert "十" in needed_keys(["{ticket}{window}"], ["A"], {}, style="number")


def test_a_transfer_reads_the_line_it_joins() -> None:
    r = read("请 {ticket} 号 到 {service} 等候", "A012", {"window": "5号窗口", "service": "社保"})
    assert r.keys == ["请", "A", "0", "1", "2", "号", "到", "社保", "等候"]
    assert r.text == "请A012号到社保等候"
    r = read(
        "{ticket} 号 请 离开 {window} 到 {service} 等候", "B7",
        {"window": "5号窗口", "service": "公积金"},
        template_en="Number {ticket}, please wait for {service}",
        names_en={"window": "5", "service": "Housing Fund"},
    )
    assert r.keys[-5:] == ["en:Number", "en:B", "en:7", "en:please wait for", "en:Housing Fund"]
    assert r.text == "B7号请离开5号窗口到公积金等候 Number B7, please wait for Housing Fund"


def test_clips_are_built_for_every_template_in_use_and_only_those() -> None:
    names = {"window": ["5号窗口"], "service": ["不动产登记", "公积金"]}
    calls = ["请 {ticket} 号 到 {window} 办理"]
    both = [*calls, "请 {ticket} 号 到 {service} 等候"]
    keys = needed_keys(both, ["A"], names)
    assert {"等候", "不动产登记", "公积金", "5号窗口", "办理"} <= set(keys)
    assert not {"等候", "公积金"} & set(needed_keys(calls, ["A"], names))
    en = needed_keys(
        both, ["A"], names, templates_en=["Number {ticket}, please wait for {service}"],
        names_en={"window": ["12"], "service": ["Housing Fund"]},
    )
    assert en["en:Housing Fund"] == "Housing Fund" and "en:please wait for" in en
    assert "en:1" in en and "en:12" not in en


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"template": "请{ticket}号"}, "template needs {window}"),
        ({"template_transfer": "请{ticket}号等候"}, "template_transfer needs {service}"),
        ({"template": "请{ticket}号到{windw}"}, "unknown field {windw}"),
        ({"template_transfer_en": "No. {ticket} {service!r}"}, "unknown field {service}"),
        ({"template_en": "No. {ticket"}, "template_en: .* braces only around a field"),
        ({"engine": "espeak-ng -w out.wav"}, "needs {out} and {text}"),
        ({"triggers": ["ticket.issued"]}, "not announceable"),
        ({"zones": [{"name": "a", "windows": [1]}, {"name": "b", "windows": [1, 2]}]},
         "window 1 is in zones a and b"),
        ({"zones": [{"name": "a"}, {"name": "a"}]}, "zone name is used twice"),
        ({"zones": [{"name": "a", "quiet_hours": ["25:00-26:00"]}]}, "not a time of day"),
        ({"zones": [{"name": "a", "volume": 1.5}]}, "less than or equal to 1"),
    ],
)
def test_bad_sections_are_refused_with_a_reason(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VoiceSection.model_validate(section)


def test_windows_go_to_their_zone_and_the_rest_to_the_catch_all() -> None:
    v = VoiceSection.model_validate(
        {"zones": [{"name": "floor1", "windows": [1, 2]}, {"name": "rest"}]}
    )
    assert v.zone_of(2).name == "floor1"
    assert v.zone_of(9).name == "rest"
