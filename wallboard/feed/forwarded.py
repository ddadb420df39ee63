"""Which address a connection comes from when the feed server sits behind a reverse proxy.

Behind a proxy every board arrives from the proxy's address. The server's limit on failed authentications
counts per address, so one board with a wrong token would lock every board out. A proxy the site names as
trusted (``ServerConfig.trusted_proxies``) says who its client was in ``X-Forwarded-For``; from anyone else
that header is ignored, as a client could forge it to dodge the limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.0.0.5", "10.1.0.0/16", "fd00::/8"); ValueError names a bad one."""
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(v.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted proxy {v!r} is not an IP address or network ({exc})") from None
    return tuple(out)


def client_address(peer_host: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address to count a connection against: the peer's own, unless the peer is a trusted proxy; then the
    nearest address in ``X-Forwarded-For`` (all such headers, in order) that is not itself a trusted proxy,
    read from the right (the left part is whatever the client sent and could be forged). A header that
    cannot be read gives the peer's address: a garbled hop is not a client."""
    if not trusted or not _trusted(_address(peer_host), trusted):
        return peer_host
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    address: Address | None = None
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer_host
        if not _trusted(address, trusted):
            return str(address)
    return str(address) if address is not None else peer_host  # every hop a trusted proxy: the first


def _address(text: str) -> Address | None:
    """An IP from a peer host or a forwarded hop: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:4711"."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # a dual-stack socket's IPv4 peer
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in net for net in trusted)
