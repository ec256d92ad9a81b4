"""Satisfaction evaluator (评价器) at a window: a button press → ``evaluate`` with the level
the profile maps it to; ``evaluation.requested`` for its window → the start frame."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from hallctl.codec.frame import Frame
from hallctl.codec.mapping import InputAction
from hallctl.drivers.base import FramedDriver

log = structlog.get_logger("hallctl.drivers.evaluator")


class EvaluatorDriver(FramedDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.device.window is not None
        self.window: int = self.device.window
        self._starts: asyncio.Queue[str] = asyncio.Queue()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(super().run())
            tg.create_task(self._start_loop())

    def notify(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "evaluation.requested" and data.get("window") == self.window:
            self._starts.put_nowait(str(data.get("ticket")))

    async def on_input(self, action: InputAction, frame: Frame) -> None:
        fields = dict(action.fields)
        response = await self.request(str(action.action), window=self.window, **fields)
        log.info("evaluator.button", device=self.id, window=self.window,
                 level=fields.get("level"), ok=response.get("ok"))

    async def _start_loop(self) -> None:
        while True:
            ticket = await self._starts.get()
            sent = await self.emit("start_evaluation")
            log.info("evaluator.start", device=self.id, window=self.window, ticket=ticket,
                     sent=sent)
