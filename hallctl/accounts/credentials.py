"""The credentials file: staff id → argon2id hash, kept apart from the hall file.

The hall file is edited by integrators and copied around; the hashes live in the data directory
(`credentials.json`, mode 0640, written atomically) and are set with `hallctl passwd STAFF`.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hallctl.accounts.passwords import hash_password

FILE_MODE = 0o640


class Credentials:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._mtime: float | None = None

    def _load(self) -> None:
        """Re-read when `hallctl passwd` changed the file under a running daemon."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._entries, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("staff"), dict):
            raise ValueError(f"{self.path}: not a hallctl credentials file")
        self._entries, self._mtime = data["staff"], mtime

    def hash_for(self, staff_id: str) -> str | None:
        self._load()
        entry = self._entries.get(staff_id)
        value = entry.get("hash") if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    def has(self, staff_id: str) -> bool:
        return self.hash_for(staff_id) is not None

    def set_password(self, staff_id: str, password: str) -> None:
        self._load()
        entries = dict(self._entries)
        entries[staff_id] = {
            "hash": hash_password(password),
            "changed": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write(entries)

    def remove(self, staff_id: str) -> bool:
        self._load()
        if staff_id not in self._entries:
            return False
        entries = {k: v for k, v in self._entries.items() if k != staff_id}
        self._write(entries)
        return True

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "staff": entries}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials.")
        try:
            os.fchmod(fd, FILE_MODE)  # whatever the umask: hashes are for the daemon's group
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._entries, self._mtime = entries, self.path.stat().st_mtime
