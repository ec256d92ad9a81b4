"""The topic tree under the hall's base topic, in one place (see docs/mqtt.md).

    <base>/status                      retained  "online" | "offline" (last will)
    <base>/events/<type>               QoS 1, not retained, every journal record
    <base>/<retained key>              retained state: state/windows/5, state/services/BDC,
                                       state/calls, devices/<id>/availability
    <base>/request/<action>            requests in; the response goes to the MQTT 5
                                       response topic of the request, which must match one
                                       of `mqtt.response_topics` and lie outside <base>/
    <base>/kiosk/<id>/request/<action> kiosk requests; answered only under
                                       <base>/kiosk/<id>/response/...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiomqtt

# Actions are snake_case words (take_ticket, call_next); anything else on the request
# topic cannot be an action and is answered `unknown_action` without asking the engine.
_ACTION = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class Topics:
    base: str

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def request_filter(self) -> str:
        return f"{self.base}/request/+"

    def event(self, event_type: str) -> str:
        return f"{self.base}/events/{event_type}"

    def retained(self, key: str) -> str:
        """`state/windows/5` -> `<base>/state/windows/5` (keys come from retained_state())."""
        return f"{self.base}/{key}"

    def request(self, action: str) -> str:
        return f"{self.base}/request/{action}"

    def backend_reply_allowed(self, topic: str, filters: list[str]) -> bool:
        """May a back-end request be answered on ``topic``?

        The daemon publishes under its own account, which may write its whole tree: an answer
        sent to `<base>/status` or `<base>/state/...` would forge hall state. So answers go
        only to the configured response subtrees, never inside the base topic.
        """
        if not reply_topic_ok(topic) or topic.startswith(self.base + "/"):
            return False
        return any(aiomqtt.Topic(topic).matches(f) for f in filters)

    def kiosk_response_prefix(self, kiosk: str) -> str:
        """A kiosk's answers go under here and nowhere else (the broker ACL's read grant)."""
        return f"{self.base}/kiosk/{kiosk}/response/"

    def action_of(self, topic: str) -> str | None:
        """The action named by a request topic, or None when the topic names none."""
        prefix = f"{self.base}/request/"
        if not topic.startswith(prefix):
            return None
        action = topic[len(prefix):]
        return action if _ACTION.fullmatch(action) else None


def reply_topic_ok(topic: str) -> bool:
    """A topic one can publish to: not empty, no wildcards, no NUL."""
    return bool(topic) and not any(c in topic for c in "+#\0")
