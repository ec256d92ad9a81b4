"""Who may push: source-address allow-lists and communication keys, for the clock receivers.

Neither ADMS nor ISAPI pushes are strong authentication (plain HTTP on the hall LAN, keys in
clear on the wire): these checks narrow who can forge a punch, they do not make it impossible.
docs/attendance.md says what remains.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hallctl.attendance.store import AttendanceStore

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def peer_address(remote: str | None) -> Address | None:
    """The TCP peer as an address (an IPv4-mapped IPv6 peer as its IPv4 address)."""
    try:
        peer = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if isinstance(peer, IPv6Address) and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped
    return peer


def address_allowed(peer: Address | None, networks: Iterable[Network]) -> bool:
    """True when no allow-list is configured, or the peer is inside one of its networks."""
    nets = list(networks)
    if not nets:
        return True
    return peer is not None and any(peer.version == n.version and peer in n for n in nets)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(presented: str, sha256_hex: str) -> bool:
    """Compare a presented key with the configured digest in constant time."""
    return hmac.compare_digest(key_digest(presented), sha256_hex.lower())


def query_value(query: Mapping[str, str], name: str) -> str | None:
    """A query parameter by name, ignoring case (firmware spells `pushcommkey` both ways)."""
    wanted = name.lower()
    for key, value in query.items():
        if key.lower() == wanted:
            return value
    return None


class KeyedAddresses:
    """Per clock serial number, the address that last presented the right communication key.

    Kept in the store as well as in memory, so a restart of hallctl does not refuse a keyed
    clock until it happens to handshake again. Written only when the address changes.
    """

    def __init__(self, store: AttendanceStore) -> None:
        self._store = store
        self._known: dict[str, Address] = {}
        for sn, address in store.query("SELECT sn, address FROM attendance_keyed_address"):
            peer = peer_address(address)
            if peer is not None:
                self._known[sn] = peer

    def get(self, sn: str) -> Address | None:
        return self._known.get(sn)

    def set(self, sn: str, peer: Address) -> None:
        if self._known.get(sn) == peer:
            return
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO attendance_keyed_address (sn, address, at)"
                " VALUES (?, ?, ?)",
                (sn, str(peer), datetime.now(UTC).isoformat(timespec="seconds")),
            )
        self._known[sn] = peer
