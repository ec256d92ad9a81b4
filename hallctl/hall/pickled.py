"""How the hall's state classes pickle: one form, whether the core runs as Python or compiled.

A snapshot is a pickle of the hall state (hallctl/snapshot.py). As Python, a slotted class
pickles as ``(None, {slot: value})`` by default; compiled by mypyc (setup.py), as a dict of
its attributes, which the other build cannot load (a slotted Python object has no ``__dict__``
to fill, and the compiled ``__setstate__`` reads no tuple). A site may upgrade from one build to
the other with a snapshot on disk, so each pickled class says its form itself, the one Python
always wrote: a snapshot made by either build, or before this module existed, loads in both.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

PickledState = tuple[None, dict[str, Any]]


def field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's fields, in order: its slots, as Python makes them."""
    return tuple(f.name for f in fields(cls))


def pickled_state(obj: object, names: tuple[str, ...]) -> PickledState:
    """``obj``'s attributes ``names`` as a slotted Python object pickles them."""
    return None, {name: getattr(obj, name) for name in names}


def restore_state(obj: object, state: PickledState | dict[str, Any]) -> None:
    """Set ``obj``'s attributes from its pickled state (a bare dict is taken too: the compiled
    default form, should such a pickle exist)."""
    slots = state if isinstance(state, dict) else state[1]
    for name, value in slots.items():
        setattr(obj, name, value)
