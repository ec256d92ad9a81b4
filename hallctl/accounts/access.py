"""Who may do what from a logged-in page; checked on the server for every request.

Roles (`access:` of a staff entry in the hall file):
- `staff`: the window actions, on the windows they serve or cover (`windows:`), as themselves;
- `supervisor`: every window action on every window, and steering the hall (staff moves,
  notices, service issuing and caps, alarm acknowledgements, 差评 follow-up, reprints, rejoins);
- `admin`: what a supervisor may, and ending other people's sessions.
Nobody may, from a page, act as a device or a clock (`tick`, `device_*`, attendance) or give an
evaluation: a satisfaction level comes from the citizen, never from the staff being rated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from hallctl.config.models import HallConfig, StaffConfig
from hallctl.hall.errors import HallError

Role = Literal["staff", "supervisor", "admin"]

WINDOW_ACTIONS = frozenset({
    "open_window", "close_window", "pause_window", "resume_window", "call_next", "recall",
    "no_show", "start_service", "finish", "suspend", "call_back", "transfer",
    "request_evaluation", "call_ticket",
})
STEERING_ACTIONS = frozenset({
    "assign_staff", "set_notice", "set_service_issuing", "set_service_cap",
    "acknowledge_alarm", "follow_up_case", "close_case", "reprint", "rejoin", "take_ticket",
})
READ_ACTIONS = frozenset({"status"})
ROLE_RANK: dict[str, int] = {"staff": 0, "supervisor": 1, "admin": 2}


def role_of(staff: StaffConfig) -> Role:
    return staff.access


def windows_of(config: HallConfig, staff: StaffConfig) -> list[int]:
    """The windows a staff member may serve: their own (`default_staff`) and those they cover."""
    own = {w.number for w in config.windows if w.default_staff == staff.id}
    return sorted(own | set(staff.windows))


def authorize(config: HallConfig, staff: StaffConfig, request: Mapping[str, Any]) -> None:
    """Raise HallError("forbidden") unless `staff` may send `request` from a page."""
    action = request.get("action")
    role = role_of(staff)
    if action in READ_ACTIONS:
        return
    if action in WINDOW_ACTIONS:
        if ROLE_RANK[role] >= ROLE_RANK["supervisor"]:
            return
        window = request.get("window")
        if window not in windows_of(config, staff):
            raise HallError("forbidden", f"{staff.id} does not serve window {window}")
        if action == "open_window" and request.get("staff") not in (None, staff.id):
            raise HallError("forbidden", "a window is opened by the person who serves it")
        return
    if action in STEERING_ACTIONS and ROLE_RANK[role] >= ROLE_RANK["supervisor"]:
        return
    raise HallError("forbidden", f"{action!s} is not allowed for role {role}")
