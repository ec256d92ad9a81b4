"""The `web:` section of the hall file: which screens exist, what each shows, and its token.

Each screen (a TV on the wall, a monitor above a window, a touchscreen kiosk) is a device with
an id and a token. The token is given to the screen once (in its start URL, `?t=…`) and kept in
the hall file only as its SHA-256 (`hallctl web token <id>` makes a pair): a page without a
valid token for *its* identity gets nothing, not even the hall's name.

```yaml
web:
  notice: 请携带身份证件，按号码顺序办理业务
  screens:
    - {id: hall-tv, page: display, token_sha256: 5e88…}                 # /display/hall-tv
    - {id: floor2, page: display, windows: [5, 6], services: [SBYB]}  # a zone display
    - {id: w1, page: window, window: 1, token_sha256: …}               # /display/window/1
    - {id: K1, page: kiosk, token_sha256: …}                           # /kiosk/K1 (kiosks: K1)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

ScreenPage = Literal["display", "window", "kiosk"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScreenConfig(_Strict):
    """One screen and the page it may open."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="URL level, e.g. main, K1")
    page: ScreenPage = Field(description="display (大屏), window (窗口屏) or kiosk (自助取号机)")
    token_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the screen's token; the token itself is never stored",
    )
    title: str | None = Field(None, description="display: heading; default the hall's name")
    windows: list[int] = Field(
        default_factory=list, description="display: windows shown (zone); empty = all"
    )
    services: list[str] = Field(
        default_factory=list, description="display: services shown (zone); empty = all"
    )
    zone: str | None = Field(
        None, description="display: notice and voice zone; default the screen id"
    )
    voice: bool = Field(
        False, description="display: play /voice/<zone>/latest.wav on voice.announced"
    )
    window: int | None = Field(None, ge=1, description="window: the window it hangs over")
    kiosk: str | None = Field(None, description="kiosk: id in `kiosks:`; default the screen id")

    @model_validator(mode="after")
    def _fields_fit_page(self) -> Self:
        if self.page == "window" and self.window is None:
            raise ValueError("a window screen needs `window`")
        if self.page != "window" and self.window is not None:
            raise ValueError("`window` is for window screens")
        if self.page != "kiosk" and self.kiosk is not None:
            raise ValueError("`kiosk` is for kiosk screens")
        if self.page != "display" and (self.windows or self.services or self.voice):
            raise ValueError("`windows`, `services` and `voice` are for displays")
        return self

    @property
    def kiosk_id(self) -> str:
        return self.kiosk or self.id

    @property
    def zone_id(self) -> str:
        return self.zone or self.id


class WebSection(_Strict):
    """The hall's public pages (docs/pages.md); served on the `http:` front."""

    notice: str = Field(
        "", max_length=500, description="scrolling notice line; `set_notice` changes it"
    )
    kiosk_idle_s: int = Field(
        60, ge=5, le=3600, description="a kiosk page returns home after this idle time (s)"
    )
    highlight_s: int = Field(8, ge=1, le=60, description="the newest call blinks this long")
    calls_shown: int = Field(6, ge=1, le=20, description="latest calls on a display")
    photos_dir: Path | None = Field(
        None, description="staff photos `<staff id>.jpg|.png` for the staff card; relative to "
        "data_dir; read at start"
    )
    screens: list[ScreenConfig] = Field(default_factory=list, description="the known screens")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: set[tuple[str, str]] = set()
        for s in self.screens:
            key = (s.page, str(s.window) if s.page == "window" else s.id)
            if key in seen:
                raise ValueError(f"screen {s.id!r}: a second {s.page} screen for the same page")
            seen.add(key)
        ids = [s.id for s in self.screens]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"screen id {sorted(dup)[0]!r} is listed twice")
        return self

    def display(self, screen_id: str) -> ScreenConfig | None:
        return next((s for s in self.screens if s.page == "display" and s.id == screen_id), None)

    def window_screen(self, number: int) -> ScreenConfig | None:
        return next((s for s in self.screens if s.page == "window" and s.window == number), None)

    def kiosk_screen(self, kiosk_id: str) -> ScreenConfig | None:
        return next(
            (s for s in self.screens if s.page == "kiosk" and s.kiosk_id == kiosk_id), None
        )
