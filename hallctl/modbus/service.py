"""Wiring: every Modbus link and driver of the hall, run under one TaskGroup.

The daemon does ``await ModbusService(config.modbus, engine).run()`` inside its own
TaskGroup; cancelling that task closes every port and connection.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .config import ModbusConfig
from .driver import HallPort, ModbusDriver
from .line import ModbusLink
from .profile import ModbusProfile, load_profile


class ModbusService:
    def __init__(
        self,
        config: ModbusConfig,
        port: HallPort,
        *,
        base_dir: Path | None = None,
    ) -> None:
        """Build links and drivers now, so a bad profile fails at start-up, not at run."""
        self.config = config
        search = [(base_dir or Path.cwd()) / d for d in config.profile_dirs]
        profiles: dict[str, ModbusProfile] = {}
        self.links: dict[str, ModbusLink] = {
            line.id: ModbusLink.rtu(line) for line in config.lines
        }
        self.drivers: dict[str, ModbusDriver] = {}
        for dev in config.devices:
            if not dev.enabled:
                continue
            if dev.profile not in profiles:
                profiles[dev.profile] = load_profile(dev.profile, search)
            if dev.line is not None:
                link = self.links[dev.line]
            else:
                host, tcp_port = dev.tcp_address()
                name = f"tcp:{host}:{tcp_port}"
                if name not in self.links:
                    self.links[name] = ModbusLink.tcp(host, tcp_port, config.tcp)
                link = self.links[name]
            self.drivers[dev.id] = ModbusDriver(dev, profiles[dev.profile], link, port)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            for name, link in self.links.items():
                if link.devices:
                    tg.create_task(link.run(), name=f"modbus-link-{name}")
            for dev_id, driver in self.drivers.items():
                tg.create_task(driver.run(), name=f"modbus-driver-{dev_id}")
