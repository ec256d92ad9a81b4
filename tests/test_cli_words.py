"""What the `hallctl` command says to a person: help for every argument, answers in words."""

from __future__ import annotations

import argparse

import pytest

from hallctl.cli import build_parser
from hallctl.cli_output import render
from hallctl.hall.levels import LEVELS

INTERNAL = ("no_show", "start_service", "call_next", "close_window", "request_evaluation",
            "finish:", "suspend:")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_argument_has_help() -> None:
    missing = [
        f"{name} {action.dest}"
        for name, sp in _subparsers().items()
        for action in sp._actions
        if action.help is None
    ]
    assert missing == []


def test_help_names_the_levels_in_chinese_and_gives_examples() -> None:
    evaluate = _subparsers()["evaluate"].format_help()
    for level in LEVELS:
        assert level.label_zh in evaluate
    demo = _subparsers()["demo"].format_help()
    assert "faster than real time" in demo and "plain line" in demo
    top = build_parser().format_help()
    assert "examples:" in top and "hallctl call 3" in top


def test_window_verbs_are_described_in_words() -> None:
    for verb in ("noshow", "start", "call", "close"):
        text = _subparsers()[verb].format_help()
        assert not any(word in text for word in INTERNAL), text


@pytest.mark.parametrize(
    ("action", "result", "says"),
    [
        ("no_show", {"ticket": "A001", "window": 1}, "A001 at window 1: no-show (过号)"),
        ("start_service", {"ticket": "A001", "window": 1}, "service started"),
        ("finish", {"ticket": "A001", "window": 1}, "finished (办结)"),
        ("rejoin", {"ticket": "A001", "ahead": 2}, "A001: back in the line (重新排队), 2 ahead"),
        ("close_window", {"window": 1, "status": "closed", "finished": "A001"},
         "A001, still in hand, was finished"),
        ("evaluate", {"ticket": "A001", "label_zh": "满意", "level": 4, "started_service": True},
         "only been called, so its service is recorded as started"),
    ],
)
def test_answers_use_words_not_action_names(
    action: str, result: dict[str, object], says: str
) -> None:
    text = render(action, {"ok": True, "result": result})
    assert says in text
    assert not any(word in text for word in INTERNAL), text


def test_status_shows_each_serial_lines_frame_counters() -> None:
    from hallctl.cli_output import serial_lines

    stats = {"lines": {
        "bus": {"connected": True, "connects": 1, "bad_frames": 3,
                "decoder": {"frames": 120, "checksum": 2, "truncated": 1, "noise_bytes": 40}},
        "led": {"connected": False, "connects": 0, "bad_frames": 0, "decoder": {}},
    }}
    assert serial_lines(stats) == [
        "serial line bus: connected, 120 frames, 3 bad (checksum 2, truncated 1), 40 noise bytes",
        "serial line led: NOT CONNECTED, 0 frames, 0 bad, 0 noise bytes",
    ]
