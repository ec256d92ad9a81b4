"""What the journal's append() refuses before it writes anything: data that is no JSON object
text, and an id, type or ts that JSON would have to escape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from hallctl import json_input
from hallctl.journal_records import PendingEvent
from hallctl.journal_sqlite import JournalError

__all__ = ["check_data", "check_plain"]

# Bytes JSON must escape in a string: control characters, quote, backslash. UTF-8 puts no
# byte below 0x80 inside a multi-byte character, so deleting these bytes is an exact test.
_ESCAPED_BYTES: Final = bytes(range(0x20)) + b'"\\'


def check_data(event: PendingEvent) -> None:
    # envelope_json splices `data` verbatim: a bad value stored once would poison every
    # forwarder forever, so refuse it here, before anything is written.
    try:
        ok = isinstance(json_input.loads(event.data), dict)
    except json_input.JsonInputError:
        ok = False
    if not ok:
        raise JournalError(f"event {event.id}: data is not a JSON object text")


def check_plain(events: Sequence[PendingEvent]) -> None:
    # Forwarders splice id, type and ts between plain quotes (journal_envelopes): one that JSON
    # must escape would make bad JSON for every back end, so refuse the batch. Checked for the
    # whole batch at once (0.1 µs an event); a batch's events mostly share their type and ts.
    try:
        text = ("".join([e.id for e in events]) + "".join({e.type for e in events})
                + "".join({e.ts for e in events})).encode()
    except (TypeError, UnicodeEncodeError):
        text = b"\0"  # not text, or not UTF-8: find the culprit below
    if len(text.translate(None, _ESCAPED_BYTES)) == len(text):
        return
    for event in events:
        for name, value in (("id", event.id), ("type", event.type), ("ts", event.ts)):
            if not isinstance(value, str) or not _is_plain(value):
                raise JournalError(
                    f"event {event.id!r}: {name} {value!r} must be text with no quote, "
                    "backslash or control character")


def _is_plain(value: str) -> bool:
    try:
        raw = value.encode()
    except UnicodeEncodeError:
        return False
    return len(raw.translate(None, _ESCAPED_BYTES)) == len(raw)
