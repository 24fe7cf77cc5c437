"""The WebhookSender port over urllib: one POST, bounded by a timeout, to a URL that resolves to public addresses
only (loopback too when allowed: the local cloud's receivers)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from orchestrator.domain.notifications import refused_address
from orchestrator.ports.notifications import WebhookError, WebhookRefused


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect could lead anywhere, past the address check
        return None


class UrllibWebhookSender:
    def __init__(self, *, timeout_seconds: float = 5.0, allow_loopback: bool = False):
        self._timeout, self._allow_loopback = timeout_seconds, allow_loopback
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
        except (OSError, ValueError, UnicodeError) as exc:
            raise WebhookError(f"cannot resolve {parts.hostname}: {type(exc).__name__}") from None
        for address in addresses:
            reason = refused_address(address.split("%")[0], allow_loopback=self._allow_loopback)
            if reason:
                raise WebhookRefused(f"{parts.hostname} resolves to a {reason} address")

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self._check(url)
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WebhookError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None
