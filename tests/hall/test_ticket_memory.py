"""A busy day's tickets are most of the state's memory (docs/performance.md, "Memory.")."""

from __future__ import annotations

import json
import pickle

from hallctl.engine import SNAPSHOT_FORMAT, snapshot_blob
from hallctl.hall.core import Hall
from hallctl.hall.state import Ticket
from tests.hall.conftest import Driver


def test_a_replayed_days_tickets_share_their_service_and_channel_words(hall: Driver) -> None:
    for _ in range(3):
        hall("take_ticket", service="SB", channel="normal")
    hall("take_ticket", service="GJJ", channel="normal", id_hash="h1")
    replayed = Hall(hall.hall.config)
    for type_, data in hall.events:
        # as from the journal: every event's data decoded from its own JSON text
        replayed.apply(type_, json.loads(json.dumps(data)), hall.now.timestamp())
    tickets = list(replayed.state.tickets.values())
    assert [t.number for t in tickets] == ["B001", "B002", "B003", "C001"]
    assert tickets[0].service is tickets[1].service is tickets[2].service
    assert tickets[0].channel is tickets[1].channel is tickets[3].channel
    # the ID number's hash still guards one ticket a person, without a field on every ticket
    again = Driver(hall.hall.config, hall.now)
    again.hall = replayed
    again.fails("already_has_ticket", "take_ticket", service="GJJ", id_hash="h1")


def test_a_ticket_keeps_no_field_only_issuing_reads() -> None:
    fields = Ticket.__slots__
    assert "appointment" not in fields and "id_hash" not in fields
    assert len(fields) == 16


def test_a_snapshot_names_the_ticket_layout_it_was_pickled_with(hall: Driver) -> None:
    # an older layout's snapshot is not unpickled into this one: the engine replays instead
    hall("take_ticket", service="SB", channel="normal")
    blob = snapshot_blob(hall.hall.state)
    tag, body = blob.split(b"\n", 1)
    assert tag.decode() == SNAPSHOT_FORMAT and SNAPSHOT_FORMAT.startswith("hallstate/5/")
    assert pickle.loads(body).tickets["B001"].service == "SB"
