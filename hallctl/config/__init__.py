"""The hall file: models, loading with line numbers, cross checks."""

from hallctl.config.loader import ConfigError, ConfigProblem, load_config, parse_config
from hallctl.config.models import HallConfig, ServiceConfig, StaffConfig, WindowConfig

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "HallConfig",
    "ServiceConfig",
    "StaffConfig",
    "WindowConfig",
    "load_config",
    "parse_config",
]
