"""Touchscreen kiosks (自助取号机) over MQTT 5 request/response: see docs/kiosks.md."""
