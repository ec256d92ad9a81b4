"""Modbus devices: register-map profiles, the per-line scheduler and the generic driver.

Layers, bottom up: ``codec`` (register values <-> typed values), ``profile`` (the YAML
register maps), ``plan`` (read coalescing), ``health`` (degradation), ``line`` (one client
and one task per RTU line or TCP connection), ``driver`` (registers <-> hall requests and
events), ``service`` (wiring from ``config``).
"""

# Submodules are imported where used, so a hall without these devices never loads
# their libraries (pymodbus, aiohttp): the daemon stays within its memory budget.
