"""The hall's web pages: live channel, screen tokens, displays and the kiosk (docs/pages.md).

`live` (Server-Sent Events from the journal) and `shell` (the HTML page frame) are reusable:
another page family mounts its routes next to these and shares the hub.
"""
