"""Find and load frame profiles by name from a list of directories.

The search path is configurable: `devices/` of a source checkout first (the source of truth),
then the packaged copy in `hallctl/data/devices/`, plus anything in `$HALLCTL_DEVICES_PATH`
(os.pathsep-separated) in front. Errors name the file, the field path and the YAML line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from hallctl.codec.profile import FrameProfile
from hallctl.yamlfile import located_errors

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_SOURCE_DEVICES = _PACKAGE_ROOT.parent / "devices"
_PACKAGED_DEVICES = _PACKAGE_ROOT / "data" / "devices"


class ProfileError(ValueError):
    """A profile file is missing or invalid; the message names the file, field and line."""


def default_profile_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("HALLCTL_DEVICES_PATH", "").split(os.pathsep) if p]
    return [*dirs, _SOURCE_DEVICES, _PACKAGED_DEVICES]


def parse_profile(text: str, source: str = "<string>") -> FrameProfile:
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ProfileError(f"{source}: not valid YAML: {exc}") from None
    try:
        return FrameProfile.model_validate(doc)
    except ValidationError as exc:
        problems = [
            f"{source}:{line}: {path}: {msg}" if line else f"{source}: {path}: {msg}"
            for path, line, msg in located_errors(doc, exc)
        ]
        raise ProfileError("\n".join(problems)) from None


class ProfileLoader:
    """Loads `<name>.yaml` from the first directory that has it; caches by name."""

    def __init__(self, dirs: Sequence[Path] | None = None) -> None:
        self.dirs = list(dirs) if dirs is not None else default_profile_dirs()
        self._cache: dict[str, FrameProfile] = {}

    def path_of(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise ProfileError(f"bad profile name {name!r}")
        for d in self.dirs:
            candidate = d / f"{name}.yaml"
            if candidate.is_file():
                return candidate
        searched = ", ".join(str(d) for d in self.dirs)
        raise ProfileError(f"no profile {name!r} in {searched}")

    def load(self, name: str) -> FrameProfile:
        if name not in self._cache:
            path = self.path_of(name)
            profile = parse_profile(path.read_text(encoding="utf-8"), str(path))
            if profile.name != name:
                raise ProfileError(f"{path}: name: is {profile.name!r}, file says {name!r}")
            self._cache[name] = profile
        return self._cache[name]


def load_profile(name: str, dirs: Sequence[Path] | None = None) -> FrameProfile:
    return ProfileLoader(dirs).load(name)
