"""Read a hall file: YAML with line numbers, version migrations, env overrides, checks.

Every problem names its field path and its line, so an integrator can fix a file in one pass.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from hallctl.config.checks import cross_check
from hallctl.config.diagnose import did_you_mean, partial_config, where
from hallctl.config.models import CONFIG_VERSION, HallConfig
from hallctl.yamlfile import line_of

FieldPath = tuple[str | int, ...]

# version N → function that turns a version-N document into version N+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

ENV_OVERRIDES: dict[str, FieldPath] = {
    "HALLCTL_MQTT_URL": ("mqtt", "url"),
    "HALLCTL_DATA_DIR": ("data_dir",),
}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: FieldPath
    line: int | None  # 1-based
    message: str
    where: str = ""  # the path as a person finds it: windows[number=2], not windows.1

    def __str__(self) -> str:
        where = self.where or ".".join(str(p) for p in self.path) or "<file>"
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{where}: {self.message}"


class ConfigError(Exception):
    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        # in file order, so they can be fixed top to bottom
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> HallConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(path), [ConfigProblem((), None, f"cannot read: {e.strerror}")]) from e
    return parse_config(text, str(path), env=os.environ if env is None else env, base=path.parent)


def parse_config(
    text: str,
    source: str = "<string>",
    env: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> HallConfig:
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [ConfigProblem((), line, f"YAML: {e.problem}")]) from e
    if not isinstance(doc, CommentedMap):
        raise ConfigError(source, [ConfigProblem((), 1, "the file must be a mapping of sections")])
    version = doc.get("version")
    if not isinstance(version, int):
        raise ConfigError(
            source, [ConfigProblem(("version",), line_of(doc, ("version",)), "must be an integer")]
        )
    data: dict[str, Any] = _plain(doc)
    while data["version"] < CONFIG_VERSION and data["version"] in MIGRATIONS:
        data = MIGRATIONS[data["version"]](data)
    if data["version"] != CONFIG_VERSION:
        raise ConfigError(
            source,
            [
                ConfigProblem(
                    ("version",),
                    line_of(doc, ("version",)),
                    f"version {version} is not supported (this hallctl reads {CONFIG_VERSION})",
                )
            ],
        )
    for var, fpath in ENV_OVERRIDES.items():
        if env and env.get(var):
            _set(data, fpath, env[var])
    def located(path: FieldPath, message: str) -> ConfigProblem:
        return ConfigProblem(path, line_of(doc, path), message, where(data, path))

    try:
        cfg = HallConfig.model_validate(data)
    except ValidationError as e:
        problems = [located(tuple(err["loc"]), _message(err)) for err in e.errors()]
        # the cross checks too, on what passed the schema: every problem in one pass
        partial, part = partial_config(data)
        if partial is not None:
            with contextlib.suppress(Exception):  # a half-valid file may surprise a check
                problems += [
                    located(part.original(p.path), p.message)
                    for p in cross_check(partial)
                    if not part.misleading(p)
                ]
        raise ConfigError(source, problems) from None
    problems = [located(p.path, p.message) for p in cross_check(cfg)]
    if problems:
        raise ConfigError(source, problems)
    if (
        base is not None
        and not cfg.data_dir.is_absolute()
        and "HALLCTL_DATA_DIR" not in (env or {})
    ):
        cfg = cfg.model_copy(update={"data_dir": (base / cfg.data_dir).resolve()})
    return cfg


def _message(err: Any) -> str:
    if err.get("type") == "extra_forbidden":
        near = did_you_mean(tuple(err["loc"]))
        hint = f"; did you mean {near!r}?" if near else ""
        return f"unknown key (not part of the hall file schema){hint}"
    return str(err["msg"]).removeprefix("Value error, ")


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _set(data: dict[str, Any], path: FieldPath, value: str) -> None:
    node: Any = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
