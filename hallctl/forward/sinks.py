"""The sinks component: one forwarder per entry of the hall file's `sinks:` list, and one for
the MQTT broker when the hall has an `mqtt:` section (its events topics, cursor `mqtt`).

Each forwarder runs on its own: a failure or a slow back end in one never touches the others.
Back-end libraries (asyncpg, nats-py) are imported only when a sink of that type is listed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from hallctl.components import Needs
from hallctl.config.models import HallConfig
from hallctl.forward.config import (
    HaochapingSink,
    NatsSink,
    PostgresSink,
    SinkConfig,
    WebhookSink,
)
from hallctl.forward.contract import Sink
from hallctl.forward.forwarder import SinkEngine, SinkForwarder
from hallctl.mqtt.settings import MqttSettings

log = structlog.get_logger(__name__)


def make_sink(config: SinkConfig, hall: HallConfig) -> Sink:
    """The back end of one `sinks:` entry."""
    if isinstance(config, WebhookSink):
        from hallctl.forward.webhook import WebhookDelivery

        return WebhookDelivery(config, hall.hall.id)
    if isinstance(config, PostgresSink):
        from hallctl.forward.postgres import PostgresDelivery

        return PostgresDelivery(config, hall.hall.id)
    if isinstance(config, NatsSink):
        from hallctl.forward.jetstream import NatsDelivery

        return NatsDelivery(config, hall.hall.id)
    if isinstance(config, HaochapingSink):
        from hallctl.forward.haochaping import HaochapingDelivery

        return HaochapingDelivery(config, hall)
    raise TypeError(f"unknown sink type {type(config).__name__}")


def mqtt_forwarder(engine: SinkEngine, settings: MqttSettings) -> SinkForwarder:
    """The forwarder of the broker's `<base>/events/<type>` topics (cursor `mqtt`)."""
    from hallctl.forward.mqtt_sink import MqttForwarderConfig, MqttSink

    return SinkForwarder(
        engine, MqttForwarderConfig.of(settings), MqttSink(settings, engine.hall_id), "mqtt"
    )


class SinksComponent:
    """Runs every configured sink's forwarder; reports their health."""

    name = "sinks"

    def __init__(self, config: HallConfig, engine: SinkEngine) -> None:
        self.forwarders = [
            SinkForwarder(engine, sink, make_sink(sink, config), sink.type)
            for sink in config.sinks
        ]
        if config.mqtt is not None:
            self.forwarders.append(mqtt_forwarder(engine, config.mqtt))

    def needs(self) -> Needs:
        # retention never prunes past the slowest sink's cursor
        return Needs(cursors=[f.cursor_name for f in self.forwarders])

    def report(self) -> list[dict[str, Any]]:
        return [f.report() for f in self.forwarders]

    def status(self) -> list[dict[str, Any]]:
        """`hallctl status` shows this under `sinks`."""
        return self.report()

    def retained_state(self) -> dict[str, dict[str, Any]]:
        """Published retained by the MQTT link as `<base>/state/sinks/<name>`."""
        return {f"state/sinks/{r['name']}": r for r in self.report()}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for forwarder in self.forwarders:
                tg.create_task(_keep_running(forwarder), name=f"sink-{forwarder.name}")


async def _keep_running(forwarder: SinkForwarder) -> None:
    # The forwarder retries back-end failures itself; this catches the rest (a journal error,
    # a bug) so that one sink's crash does not cancel the others.
    while True:
        try:
            await forwarder.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sink.crashed", sink=forwarder.name)
        await asyncio.sleep(5.0)


def build(config: HallConfig, engine: SinkEngine) -> SinksComponent | None:
    if not config.sinks and config.mqtt is None:
        return None
    return SinksComponent(config, engine)
