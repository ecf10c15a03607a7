"""Per-endpoint IP allowlists: `allowed_ips`, a list of networks (CIDR) a sender posts from.

Which address is the client's: the socket's peer (REMOTE_ADDR), unless the platform runs
behind reverse proxies; then ONEPING_TRUSTED_PROXY_COUNT says how many, and the client is
the address the outermost trusted proxy saw, the N-th entry of X-Forwarded-For from the
right. Entries further left are whatever the client wrote, so they are never believed
(https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/X-Forwarded-For#security_and_privacy_concerns).
"""

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings

MAX_NETWORKS = 100
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AllowedIpsError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def clean(value: Any) -> list[str]:
    """Validate `allowed_ips` (None or [] means from anywhere); each entry as its network
    in canonical form ("203.0.113.7" → "203.0.113.7/32")."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise AllowedIpsError("allowed_ips", 'A list of networks, e.g. ["203.0.113.0/24"].')
    if len(value) > MAX_NETWORKS:
        raise AllowedIpsError("allowed_ips", f"At most {MAX_NETWORKS} networks.")
    cleaned = []
    for index, entry in enumerate(value):
        where = f"allowed_ips[{index}]"
        if not isinstance(entry, str):
            raise AllowedIpsError(where, "Must be a string such as 203.0.113.0/24.")
        try:
            network = ipaddress.ip_network(entry.strip())
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise AllowedIpsError(where, f"{entry[:60]!r} is not an IP network.") from None
            # Host bits set ("10.1.2.3/8"): say what it would mean rather than guess.
            raise AllowedIpsError(
                where, f"{entry[:60]!r} has host bits set; did you mean {loose}?"
            ) from None
        cleaned.append(str(network))
    return cleaned


def client_address(remote_addr: str | None, headers: Mapping[str, str]) -> Address | None:
    """The client's address (module docstring), or None when it cannot be told: a chain
    shorter than the trusted proxies (the request did not come through them) or a
    malformed entry."""
    chain = []
    trusted = settings.ONEPING_TRUSTED_PROXY_COUNT
    if trusted:
        forwarded = {name.lower(): value for name, value in headers.items()}.get(
            "x-forwarded-for", ""
        )
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    chain.append(remote_addr or "")
    if len(chain) <= trusted:
        return None
    try:
        return ipaddress.ip_address(chain[-1 - trusted])
    except ValueError:
        return None


def client_ip(remote_addr: str | None, headers: Mapping[str, str]) -> str | None:
    """The address an event records: the client's, else the socket's."""
    address = client_address(remote_addr, headers)
    return str(address) if address is not None else remote_addr


def refusal(allowed_ips: list[str], remote_addr: str | None, headers: Mapping[str, str]) -> str:
    """Why this request may not post here ("" when it may)."""
    if not allowed_ips:
        return ""
    address = client_address(remote_addr, headers)
    if address is None:
        return "The client's address cannot be told, and this inbound URL has allowed_ips."
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:203.0.113.7 is 203.0.113.7
    if any(address in network for network in _networks(allowed_ips)):
        return ""
    return f"Requests from {address} are not accepted by this inbound URL (allowed_ips)."


def _networks(allowed_ips: list[str]) -> list[Network]:
    # The API, the dashboard and the admin store only clean networks (validation.py); a row
    # written by other means (a shell, a rule set from before the checks) must not turn
    # every request into a 500: an entry that is not a network allows nothing.
    networks = []
    for entry in allowed_ips if isinstance(allowed_ips, list) else []:
        try:
            networks.append(ipaddress.ip_network(entry))
        except (TypeError, ValueError):
            continue
    return networks
