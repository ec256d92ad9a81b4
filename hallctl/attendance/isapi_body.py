"""Reading the body of an ISAPI event push: JSON, older firmware's XML, or multipart.

Multipart bodies are read from the whole body (the server's size limit applies) with the
standard library's MIME parser, because terminals in the field bend the format:
- the boundary in the body may differ in case from the one in the Content-Type header
  (`boundary=MIME_boundary`, body `--mime_boundary`); the body's spelling is used when it is the
  header's ignoring case;
- one body may carry several events (`event_log` parts), each followed by its picture: every
  event is returned, with the picture that follows it.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiohttp import web

from hallctl import json_input

EVENT_PARTS = ("event_log", "AccessControllerEvent")
_JPEG = b"\xff\xd8\xff"


class BadEvent(ValueError):
    """The body is not an ISAPI event we can read."""


@dataclass(slots=True)
class EventPart:
    event: dict[str, Any]
    picture: bytes | None = None


async def read_events(request: web.Request) -> list[EventPart]:
    """Every event in the body, in order (an XML alert: one empty event, ignored later)."""
    body = await request.read()
    if request.content_type.startswith("multipart/"):
        return parse_multipart(request.headers.get("Content-Type", ""), body)
    if body.lstrip()[:1] == b"<":
        # Older firmware's XML EventNotificationAlert (heartbeats, camera events): not a punch.
        return [EventPart({})]
    return [EventPart(json_object(body))]


def body_boundary(content_type: str, body: bytes) -> str:
    """The boundary the body really uses: the header's, or the body's spelling of it."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if match is None:
        raise BadEvent("multipart body without a boundary")
    declared = match.group(1).strip()
    if b"--" + declared.encode("latin-1") in body:
        return declared
    found = re.search(
        rb"(?:^|\r?\n)--(" + re.escape(declared.encode("latin-1")) + rb")",
        body,
        re.IGNORECASE,
    )
    return found.group(1).decode("latin-1") if found else declared


def parse_multipart(content_type: str, body: bytes) -> list[EventPart]:
    boundary = body_boundary(content_type, body)
    head = b'Content-Type: multipart/form-data; boundary="' + boundary.encode("latin-1") + b'"'
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head + b"\r\n\r\n" + body
    )
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise BadEvent("unreadable multipart body")
    parts: list[EventPart] = []
    stray_picture: bytes | None = None
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name in EVENT_PARTS:
            parts.append(EventPart(json_object(data), stray_picture))
            stray_picture = None
        elif part.get_filename() is not None or data[:3] == _JPEG:
            if parts and parts[-1].picture is None:
                parts[-1].picture = data  # the picture after an event is that event's
            elif not parts:
                stray_picture = data  # firmware that sends the picture first
    if not parts:
        raise BadEvent("multipart body without an event_log part")
    return parts


def json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json_input.loads(data)
    except json_input.JsonInputError as exc:
        raise BadEvent(f"body is not usable JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadEvent("event is not a JSON object")
    return value
