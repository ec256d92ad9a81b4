"""好差评 upload: evaluation records mapped to a provincial 好差评 interface by a YAML mapping.

Every province publishes its own field names, so the mapping is data, not code: each output
field says where its value comes from (`from` an event field, `config` value, `const`), how it
is translated (`map`, `format` for times) and whether it must be present (`required`). A record
the mapping cannot fill (a service without a 事项编码, say) parks the sink with an alarm
instead of uploading something wrong or skipping it. The sample (config/haochaping-sample.yaml)
is modelled on the published provincial integrations and is an example to adapt, not a spec.

Values a mapping can read, per evaluation: the event's data (ticket, service, service_name,
window, staff, level, level_name, evaluated, reason, case_no, source), the envelope (id, ts,
hall) and from the hall file: staff_no, staff_name, hall_name; `config`: region_code,
department_code, hall_id, hall_name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML

from hallctl.config.models import HallConfig
from hallctl.forward.config import HaochapingSink
from hallctl.forward.contract import SinkRejected, SinkUnavailable
from hallctl.hall.events import EvaluationRecorded
from hallctl.journal import Record
from hallctl.yamlfile import located_errors


class FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: str | None = Field(None, alias="from", description="event or hall field")
    config: str | None = Field(None, description="region_code, department_code, hall_id…")
    const: str | int | None = None
    map: dict[str, str | int] | None = Field(None, description="value translation table")
    format: str | None = Field(None, description="strftime format for a time value (ts)")
    default: str | int | None = None
    required: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        if sum(x is not None for x in (self.from_, self.config, self.const)) != 1:
            raise ValueError("a field takes its value from exactly one of from, config, const")
        return self


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    records_key: str | None = Field(
        "data", description="the body is {records_key: [records]}; null: the bare list"
    )
    key_header: str | None = Field(None, description="header that carries the app key")
    success_field: str | None = Field(
        None, description="field of the JSON answer that says whether it was accepted"
    )
    success_values: list[str] = Field(default_factory=lambda: ["0", "200"])
    skip_unevaluated: bool = Field(True, description="records with no answer are not sent")
    fields: dict[str, FieldRule] = Field(min_length=1)


class MappingError(ValueError):
    pass


def load_mapping(path: Path) -> Mapping:
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: {exc.strerror}") from None
    except Exception as exc:  # ruamel's YAML errors
        raise MappingError(f"{path}: YAML: {exc}") from None
    try:
        return Mapping.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"line {line}: {where}: {msg}" for where, line, msg in located_errors(doc, exc)
        )
        raise MappingError(f"{path}: {problems}") from None


# What a mapping can read: the evaluation event's fields, the envelope and the hall file.
SOURCE_KEYS: frozenset[str] = frozenset(EvaluationRecorded.model_fields) | {
    "id", "ts", "staff_no", "staff_name", "hall_name",
}
CONFIG_KEYS: frozenset[str] = frozenset({"region_code", "department_code", "hall_id", "hall_name"})


def mapping_problems(mapping: Mapping, services: list[str]) -> list[str]:
    """What is wrong with a mapping for this hall: unknown names, services without a code."""
    out = []
    for name, rule in mapping.fields.items():
        if rule.from_ is not None and rule.from_ not in SOURCE_KEYS:
            out.append(f"field {name}: no value named {rule.from_!r} "
                       f"(known: {', '.join(sorted(SOURCE_KEYS))})")
        if rule.config is not None and rule.config not in CONFIG_KEYS:
            out.append(f"field {name}: no config value {rule.config!r} "
                       f"(known: {', '.join(sorted(CONFIG_KEYS))})")
        if rule.from_ == "service" and rule.map is not None and rule.required:
            missing = [s for s in services if s not in rule.map and rule.default is None]
            if missing:
                out.append(f"field {name}: no code for service {', '.join(missing)}")
    return out


def check(sink: HaochapingSink, hall: HallConfig) -> list[str]:
    """`hallctl check`: the mapping file of a 好差评 sink loads and fits the hall."""
    try:
        mapping = load_mapping(sink.mapping)
    except MappingError as exc:
        return [str(exc)]
    return mapping_problems(mapping, [s.code for s in hall.services])


class RecordMapper:
    """Turns one evaluation record into the province's record."""

    def __init__(self, mapping: Mapping, sink: HaochapingSink, hall: HallConfig) -> None:
        self.mapping = mapping
        self._config: dict[str, Any] = {
            "region_code": sink.region_code,
            "department_code": sink.department_code,
            "hall_id": hall.hall.id,
            "hall_name": hall.hall.name,
        }
        self._staff = {s.id: s for s in hall.staff}

    def wanted(self, record: Record) -> bool:
        if record.type != "evaluation.recorded":
            return False
        return not self.mapping.skip_unevaluated or bool(json.loads(record.data)["evaluated"])

    def source(self, record: Record) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(record.data)
        staff = self._staff.get(data.get("staff") or "")
        return data | {
            "id": record.id,
            "ts": record.ts,
            "staff_no": staff.staff_no if staff else None,
            "staff_name": staff.name if staff else None,
            "hall_name": self._config["hall_name"],
        }

    def __call__(self, record: Record) -> dict[str, Any]:
        src = self.source(record)
        out: dict[str, Any] = {}
        for name, rule in self.mapping.fields.items():
            if rule.const is not None:
                value: Any = rule.const
            elif rule.config is not None:
                value = self._config.get(rule.config)
            else:
                value = src.get(rule.from_ or "")
            if value is not None and rule.format is not None:
                value = datetime.fromisoformat(str(value)).strftime(rule.format)
            if value is not None and rule.map is not None:
                value = rule.map.get(str(value), rule.default)
            if value is None:
                value = rule.default
            if value is None and rule.required:
                raise SinkRejected(
                    f"好差评 mapping: {name} has no value for event {record.id} "
                    f"(ticket {src.get('ticket')}, service {src.get('service')})"
                )
            out[name] = value
        return out


class HaochapingDelivery:
    """Implements `Sink`: POST the mapped evaluations of each batch to the provincial interface."""

    def __init__(self, config: HaochapingSink, hall: HallConfig) -> None:
        self._config = config
        self._hall = hall
        self._mapper: RecordMapper | None = None
        self._session: aiohttp.ClientSession | None = None
        self._key: str | None = None

    async def open(self) -> None:
        try:
            # read at each (re)start: a corrected mapping or a new key applies without restart
            mapping = load_mapping(self._config.mapping)
            self._key = self._config.app_key()
        except ValueError as exc:
            raise SinkRejected(str(exc)) from None
        problems = mapping_problems(mapping, [s.code for s in self._hall.services])
        if problems:
            raise SinkRejected(f"{self._config.mapping}: {'; '.join(problems)}")
        self._mapper = RecordMapper(mapping, self._config, self._hall)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s)
            )

    async def deliver(self, records: Sequence[Record]) -> None:
        mapper, session = self._mapper, self._session
        assert mapper is not None and session is not None, "open() first"
        rows = [mapper(r) for r in records if mapper.wanted(r)]
        if not rows:
            return
        m = mapper.mapping
        body = json.dumps({m.records_key: rows} if m.records_key else rows, ensure_ascii=False)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if m.key_header and self._key:
            headers[m.key_header] = self._key
        url = self._config.url
        try:
            async with session.post(url, data=body.encode(), headers=headers) as response:
                status = response.status
                text = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SinkUnavailable(f"好差评 POST {url}: {type(exc).__name__} {exc}") from exc
        if status >= 500 or status in (408, 429):
            raise SinkUnavailable(f"好差评 POST {url}: HTTP {status} {text[:200]}")
        if not 200 <= status < 300:
            raise SinkRejected(f"好差评 POST {url}: HTTP {status} {text[:200]}")
        if m.success_field:
            try:
                answer = json.loads(text)
                code = str(answer.get(m.success_field))
                text = json.dumps(answer, ensure_ascii=False)  # readable Chinese in the alarm
            except (ValueError, AttributeError):
                code = None
            if code not in m.success_values:
                raise SinkRejected(f"好差评 platform refused the batch: {text[:200]}")

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
