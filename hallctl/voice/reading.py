"""How an announcement is read: ticket numbers, window names and the template, as clip keys.

An announcement is a list of clip keys. A key names one clip of the clip set; the manifest says
what each clip says. Mandarin keys are what a reader sees (``A``, ``0``, ``号``, ``5号窗口``);
English keys carry an ``en:`` prefix. Spaces in a Mandarin template separate clips and are not
spoken; in the English template the words between two fields are one clip.

A template's fields are ``{ticket}`` (read by the number rules), ``{window}`` (the window's
spoken name) and ``{service}`` (a service's spoken name: the line a transferred ticket goes to).
In English a field whose value is all digits (a window's number) is read digit by digit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

DIGITS_ZH = "零一二三四五六七八九"
YAO = "幺"
UNITS_ZH = {"十": 10, "百": 100, "千": 1000}
EN = "en:"
_TICKET = re.compile(r"^([A-Z]{0,2})(\d+)$")
FIELDS = ("ticket", "window", "service")
_FIELD = re.compile(r"(\{(?:ticket|window|service)\})")

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


def template_fields(template: str) -> list[str]:
    """The fields a template uses, in order; a clear ``ValueError`` for anything else."""
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ValueError(f"{template!r}: {e} (write braces only around a field)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS or spec or conversion:
            known = ", ".join("{" + f + "}" for f in FIELDS)
            raise ValueError(f"{template!r}: unknown field {{{name}}}; fields are {known}")
        fields.append(name)
    return fields


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


def _is_field(part: str) -> bool:
    return _FIELD.fullmatch(part) is not None


def _en_keys(value: str) -> list[str]:
    """A window number is read digit by digit; a name is one clip."""
    return list(value) if value.isdigit() else [value]


def read(
    template: str,
    ticket: str,
    names: Mapping[str, str],
    *,
    style: Style = "digits",
    yao: bool = False,
    template_en: str | None = None,
    names_en: Mapping[str, str] | None = None,
) -> Reading:
    """``names`` gives each field's spoken value (``{"window": "5号窗口"}``), ``names_en`` the
    same for the English template (``{"window": "5"}``)."""
    keys: list[str] = []
    for part in _split(template):
        if part == "{ticket}":
            keys += ticket_keys(ticket, style, yao)
        elif _is_field(part):
            keys.append(names[part[1:-1]])
        else:
            keys.append(part)
    text = "".join(template.split()).format(ticket=ticket, **names)
    if template_en:
        en = dict(names_en or names)
        for part in _split_en(template_en):
            if part == "{ticket}":
                keys += [EN + c for c in ticket]
            elif _is_field(part):
                keys += [EN + k for k in _en_keys(en[part[1:-1]])]
            else:
                keys.append(EN + part)
        text += " " + template_en.format(ticket=ticket, **en)
    return Reading(keys, text)


def needed_keys(
    templates: Sequence[str],
    prefixes: Iterable[str],
    names: Mapping[str, Iterable[str]],
    *,
    style: Style = "digits",
    yao: bool = False,
    templates_en: Sequence[str] = (),
    names_en: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, str]:
    """Every clip the ``templates`` can need, key → text: digits, the prefixes' letters, the
    templates' words, and every value of each field a template uses (``names["window"]``: every
    window's spoken name). A template's words and fields are needed only if it is listed."""
    letters = sorted({c for p in prefixes for c in p})
    keys: list[str] = [str(d) for d in range(10)]
    if yao:
        keys.append(YAO)
    if style == "number":
        keys += list(UNITS_ZH)
    keys += letters
    for template in templates:
        for part in _split(template):
            if part == "{ticket}":
                continue
            keys += list(names.get(part[1:-1], ())) if _is_field(part) else [part]
    out = {k: key_text(k) for k in keys}
    if templates_en:
        en_names = names_en or {}
        en = [str(d) for d in range(10)] + letters
        for template in templates_en:
            for part in _split_en(template):
                if part == "{ticket}":
                    continue
                if _is_field(part):
                    en += [k for v in en_names.get(part[1:-1], ()) for k in _en_keys(v)]
                else:
                    en.append(part)
        out.update({EN + k: k for k in en})
    return out
