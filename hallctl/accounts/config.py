"""The `accounts:` section: sessions and lock-out for staff who log in on the web."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AccountsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    credentials_file: Path | None = Field(
        None, description="password hashes (default: credentials.json in the data directory)"
    )
    session_idle_min: int = Field(30, ge=1, description="a session unused this long ends")
    session_max_h: float = Field(12, gt=0, description="a session ends this long after login")
    lockout_failures: int = Field(
        5, ge=1, description="wrong passwords in a row that lock an account"
    )
    lockout_min: int = Field(15, ge=1, description="how long a locked account stays locked")
    login_per_min_per_address: int = Field(
        20, ge=1, description="login attempts one address may make per minute"
    )
