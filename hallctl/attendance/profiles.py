"""Load MQTT face-terminal profiles (`devices/face-<name>.yaml`) by name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML

from hallctl.attendance.config import MqttFaceProfile
from hallctl.codec.loader import ProfileError, default_profile_dirs


def load_face_profile(name: str, dirs: Iterable[Path] | None = None) -> MqttFaceProfile:
    for directory in dirs or default_profile_dirs():
        path = directory / f"face-{name}.yaml"
        if path.exists():
            try:
                return MqttFaceProfile.model_validate(
                    YAML(typ="safe").load(path.read_text("utf-8"))
                )
            except ValidationError as e:
                raise ProfileError(f"{path}: {e}") from None
    raise ProfileError(f"no face profile named {name!r} (looked for face-{name}.yaml)")


def load_face_profiles(
    names: Iterable[str], dirs: Iterable[Path] | None = None
) -> dict[str, MqttFaceProfile]:
    search = list(dirs) if dirs is not None else None
    return {name: load_face_profile(name, search) for name in names}
