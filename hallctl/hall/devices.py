"""The devices a hall has: every id its hall file names, whatever section names it.

`device_status` and `device_alarm` are accepted only for these, so a typo or a stray client
cannot fill the status page and the event stream with devices the hall does not have.
"""

from __future__ import annotations

from hallctl.config.models import HallConfig
from hallctl.voice.config import device_id as voice_device_id


def device_ids(config: HallConfig) -> frozenset[str]:
    ids: set[str] = set()
    if config.serial is not None:
        ids.update(d.id for d in config.serial.devices)
    if config.modbus is not None:
        ids.update(d.id for d in config.modbus.devices)
    if config.kiosks is not None:
        ids.update(k.id for k in config.kiosks.kiosks)
    if config.attendance is not None:
        a = config.attendance
        ids.update(c.device for c in a.adms.clocks)
        ids.update(c.device for c in a.zk_tcp.clocks)
        ids.update(t.device for t in a.isapi.terminals)
        for binding in a.mqtt:
            ids.update(binding.terminals.values())
    if config.voice is not None:
        # each speaker zone reports like a device (offline, speaker_failed)
        ids.update(voice_device_id(zone.name) for zone in config.voice.zones)
    ids.update(sink.device for sink in config.sinks)
    return frozenset(ids)
