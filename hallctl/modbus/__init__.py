"""Modbus devices: register-map profiles, the per-line scheduler and the generic driver.

Layers, bottom up: ``codec`` (register values <-> typed values), ``profile`` (the YAML
register maps), ``plan`` (read coalescing), ``health`` (degradation), ``line`` (one client
and one task per RTU line or TCP connection), ``driver`` (registers <-> hall requests and
events), ``service`` (wiring from ``config``).
"""

from .config import LinkSettings, ModbusConfig, ModbusDeviceConfig, ModbusLineConfig
from .driver import HallPort, ModbusDriver
from .line import LineDevice, ModbusLink, WriteOp
from .profile import ModbusProfile, ProfileError, load_profile, parse_profile
from .service import ModbusService

__all__ = [
    "HallPort",
    "LineDevice",
    "LinkSettings",
    "ModbusConfig",
    "ModbusDeviceConfig",
    "ModbusDriver",
    "ModbusLineConfig",
    "ModbusLink",
    "ModbusProfile",
    "ModbusService",
    "ProfileError",
    "WriteOp",
    "load_profile",
    "parse_profile",
]
