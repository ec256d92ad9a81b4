"""The `kiosks:` section of the hall file: which kiosks exist and what each may do.

A kiosk is known by its id, which is also the last-but-two level of its request topics
(`<base>/kiosk/<id>/request/<action>`) and, by convention, its broker user name, so one
Mosquitto ACL pattern (`%u`) keeps every kiosk on its own topics.
"""

from __future__ import annotations

from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

KioskAction = Literal[
    "list_services", "take_ticket", "check_in", "green_ticket", "queue_status", "reprint_last"
]
KIOSK_ACTIONS: tuple[str, ...] = get_args(KioskAction)
# What a kiosk may do unless its entry says otherwise: everything a citizen does alone.
# green_ticket is not here: it needs staff at hand, so it is granted per kiosk.
DEFAULT_ALLOW: tuple[KioskAction, ...] = (
    "list_services", "take_ticket", "check_in", "queue_status", "reprint_last"
)


class KioskConfig(BaseModel):
    """One kiosk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="topic level and broker user name of the kiosk, e.g. K1",
    )
    name: str | None = Field(None, description="where it stands, e.g. 一楼大厅入口")
    allow: list[KioskAction] = Field(
        default_factory=lambda: list(DEFAULT_ALLOW), description="actions it may ask for"
    )
    green_channel: bool = Field(
        False, description="may issue green-channel (绿色通道) tickets: adds green_ticket"
    )
    rate_per_min: int = Field(30, ge=1, le=6000, description="sustained requests per minute")
    printer: str | None = Field(
        None, description="its own ESC/POS printer (`serial:` escpos device id) prints its tickets"
    )
    burst: int | None = Field(
        None, ge=1, description="requests allowed at once; default rate_per_min / 3, at least 5"
    )

    @model_validator(mode="after")
    def _green_needs_flag(self) -> Self:
        # One switch for one privilege: listing green_ticket without the flag is a mistake.
        if "green_ticket" in self.allow and not self.green_channel:
            raise ValueError("green_ticket is granted by `green_channel: true`, not by `allow`")
        return self

    @property
    def allowed(self) -> frozenset[str]:
        extra = {"green_ticket"} if self.green_channel else set()
        return frozenset(self.allow) | extra

    @property
    def bucket_size(self) -> int:
        return self.burst if self.burst is not None else max(5, self.rate_per_min // 3)


class KioskSection(BaseModel):
    """Touchscreen kiosks (自助取号机) talking MQTT 5 to the daemon (docs/kiosks.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kiosks: list[KioskConfig] = Field(default_factory=list, description="the known kiosks")
    refuse_when_unstaffed: bool = Field(
        True,
        description="refuse tickets (service_closed) for a service no open or paused window "
        "serves; the ticket would wait for nobody",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for kiosk in self.kiosks:
            if kiosk.id in seen:
                raise ValueError(f"kiosk id {kiosk.id!r} is listed twice")
            seen.add(kiosk.id)
        return self

    def kiosk(self, kiosk_id: str) -> KioskConfig | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)
