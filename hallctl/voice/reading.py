"""How an announcement is read: ticket numbers, window names and the template, as clip keys.

An announcement is a list of clip keys. A key names one clip of the clip set; the manifest says
what each clip says. Mandarin keys are what a reader sees (``A``, ``0``, ``号``, ``5号窗口``);
English keys carry an ``en:`` prefix. Spaces in a Mandarin template separate clips and are not
spoken; in the English template the words between two fields are one clip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

DIGITS_ZH = "零一二三四五六七八九"
YAO = "幺"
UNITS_ZH = {"十": 10, "百": 100, "千": 1000}
EN = "en:"
_TICKET = re.compile(r"^([A-Z]{0,2})(\d+)$")
_FIELD = re.compile(r"(\{ticket\}|\{window\})")

Style = Literal["digits", "number"]


def zh_number(n: int) -> list[str]:
    """``12`` → ``十 二``; ``105`` → ``1 百 零 5`` (digit keys and unit words, 0..9999)."""
    if not 0 <= n <= 9999:
        raise ValueError(f"cannot read {n} as a number")
    if n < 10:
        return [str(n)]
    if n < 20:
        return ["十"] + ([str(n - 10)] if n > 10 else [])
    out: list[str] = []
    zero = False
    for unit, size in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        d, n = divmod(n, size)
        if d:
            if zero:
                out.append("0")
                zero = False
            out.append(str(d))
            if unit:
                out.append(unit)
        elif out and n:
            zero = True  # one 零 for any run of missing places: 1005 = 一千零五
    return out


def ticket_keys(ticket: str, style: Style = "digits", yao: bool = False) -> list[str]:
    """``A012`` → ``A 0 1 2`` (digits) or ``A 十 二`` (number)."""
    m = _TICKET.match(ticket)
    if m is None:
        raise ValueError(f"not a ticket number: {ticket!r}")
    prefix, digits = m.groups()
    keys = list(prefix)
    if style == "number":
        keys += zh_number(int(digits))
    else:
        keys += [YAO if (yao and d == "1") else d for d in digits]
    return keys


def key_text(key: str) -> str:
    """What a Mandarin clip key says, as text for the TTS engine."""
    if key.isdigit() and len(key) == 1:
        return DIGITS_ZH[int(key)]
    return key


@dataclass(frozen=True, slots=True)
class Reading:
    """An announcement's clip keys (one saying) and its text (for the journal and displays)."""

    keys: list[str]
    text: str


def _split(template: str) -> list[str]:
    """Template → literal clips and fields: ``请 {ticket} 号`` → ``请``, ``{ticket}``, ``号``."""
    out: list[str] = []
    for part in template.split():
        out += [p for p in _FIELD.split(part) if p]
    return out


def _split_en(template: str) -> list[str]:
    """English: the words between two fields are one clip (``please go to window``)."""
    parts = (p.strip(" ,.;:!?") for p in _FIELD.split(template))
    return [p for p in parts if p]


def read(
    template: str,
    ticket: str,
    window_name: str,
    *,
    style: Style = "digits",
    yao: bool = False,
    template_en: str | None = None,
    window_number: int | None = None,
) -> Reading:
    keys: list[str] = []
    for part in _split(template):
        if part == "{ticket}":
            keys += ticket_keys(ticket, style, yao)
        elif part == "{window}":
            keys.append(window_name)
        else:
            keys.append(part)
    text = "".join(template.split()).format(ticket=ticket, window=window_name)
    if template_en:
        window = str(window_number) if window_number is not None else window_name
        for part in _split_en(template_en):
            if part == "{ticket}":
                keys += [EN + c for c in ticket]
            elif part == "{window}":
                keys += [EN + c for c in window]
            else:
                keys.append(EN + part)
        text += " " + template_en.format(ticket=ticket, window=window)
    return Reading(keys, text)


def needed_keys(
    template: str,
    prefixes: Iterable[str],
    window_names: Iterable[str],
    *,
    style: Style = "digits",
    yao: bool = False,
    template_en: str | None = None,
    window_numbers: Iterable[int] = (),
) -> dict[str, str]:
    """Every clip a hall can need, key → text: digits, letters, template words, window names."""
    keys: list[str] = [str(d) for d in range(10)]
    if yao:
        keys.append(YAO)
    if style == "number":
        keys += list(UNITS_ZH)
    keys += sorted({c for p in prefixes for c in p})
    for part in _split(template):
        if part not in ("{ticket}", "{window}"):
            keys.append(part)
    keys += list(window_names)
    out = {k: key_text(k) for k in keys}
    if template_en:
        en = [str(d) for d in range(10)] + sorted({c for p in prefixes for c in p})
        en += [p for p in _split_en(template_en) if p not in ("{ticket}", "{window}")]
        digits_in_names = {c for n in window_numbers for c in str(n)}
        en += sorted(digits_in_names - set(en))
        out.update({EN + k: k for k in en})
    return out
