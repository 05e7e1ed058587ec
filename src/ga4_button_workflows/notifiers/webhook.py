"""A notifier that POSTs the insights document to any HTTP endpoint, signed.

The request:

* body: the insights document as JSON (the same document the stores keep),
  UTF-8;
* ``Content-Type: application/json``;
* ``Idempotency-Key``: the analysis ID (percent-encoded when it is not
  printable ASCII). A retried notification carries the same key, so the
  receiver can drop a repeat;
* ``X-GA4-Buttons-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body
  bytes with the shared secret.

A receiver verifies the signature over the raw body, before parsing it::

    import hashlib, hmac

    def is_authentic(body: bytes, header: str, secret: bytes) -> bool:
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

or with :func:`verify_signature` from this module.

Change alerts (:meth:`WebhookNotifier.send_alert`) go to the same endpoint,
signed the same way. Their body is the alert as JSON with ``"kind":
"change_alert"`` (an insights document has no ``kind``): ``key``,
``property_id``, ``analysis_id``, ``analysis_url``, ``text`` and the
``finding`` with its numbers. Their ``Idempotency-Key`` is
``<analysis ID>:<alert key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.notifiers import _http
from ga4_button_workflows.trends import ChangeAlert

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ALERT_KIND",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "WebhookNotifier",
    "idempotency_key",
    "sign_body",
    "verify_signature",
]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-GA4-Buttons-Signature"
"""The header carrying ``sha256=<hex HMAC of the body>``."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The header carrying the analysis ID."""
ALERT_KIND = "change_alert"
"""The ``kind`` of a change alert's body."""

_SIGNATURE_PREFIX = "sha256="
_RESERVED_HEADERS = frozenset(
    name.lower() for name in (SIGNATURE_HEADER, IDEMPOTENCY_HEADER, "Content-Type")
)


def sign_body(body: bytes, secret: str | bytes) -> str:
    """Return the signature header value for ``body``: ``sha256=<hex>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return _SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str, secret: str | bytes) -> bool:
    """True when ``signature`` is the HMAC-SHA256 of the raw ``body`` with ``secret``.

    Compares in constant time. Pass the body exactly as received, before any
    JSON parsing.
    """
    return hmac.compare_digest(sign_body(body, secret), signature.strip())


class WebhookNotifier:
    """POSTs the insights document as signed JSON to an endpoint of yours.

    Args:
        url: The endpoint. Treated as a secret: never logged, never in errors
            or ``repr``.
        secret: The shared HMAC key the receiver verifies signatures with.
        channel: The delivery channel name; give each webhook notifier of one
            worker its own.
        headers: Extra headers, e.g. an ``Authorization`` the endpoint wants.
        timeout_s: Timeout of each request, in seconds.
        client: An httpx client to post with; by default each notification
            opens its own.

    Raises:
        ValueError: The URL is not http(s), the secret is empty, or an extra
            header would replace one this notifier sets.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes,
        channel: str = "webhook",
        headers: Mapping[str, str] | None = None,
        timeout_s: float = _http.DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        _http.validate_url(url, what="webhook URL")
        if not secret:
            raise ValueError(
                "the webhook secret is empty; pass the key the receiver uses to "
                "verify the X-GA4-Buttons-Signature header"
            )
        clashing = sorted(
            name for name in (headers or {}) if name.lower() in _RESERVED_HEADERS
        )
        if clashing:
            raise ValueError(
                f"headers {', '.join(clashing)} are set by the notifier itself; "
                "remove them from headers="
            )
        self._url = url
        self._secret = secret
        self._channel = channel
        self._headers = dict(headers or {})
        self._timeout_s = timeout_s
        self._client = client
        self._converter = make_cattrs_converter()

    def __repr__(self) -> str:
        return f"WebhookNotifier(channel={self._channel!r})"

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    def request_body(self, insights: ButtonInsights) -> bytes:
        """Return the exact bytes :meth:`send` posts (and signs) for ``insights``."""
        document = self._converter.unstructure(insights)
        return json.dumps(
            document, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()

    def alert_body(self, alert: ChangeAlert) -> bytes:
        """Return the exact bytes :meth:`send_alert` posts (and signs)."""
        document = {"kind": ALERT_KIND, **self._converter.unstructure(alert)}
        return json.dumps(
            document, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """POST the signed document; raise a classified ``ApplicationError``."""
        await self._post(self.request_body(insights), idempotency=analysis_id)
        logger.info("Posted analysis %s to %s", analysis_id, self._channel)

    async def send_alert(self, alert: ChangeAlert) -> None:
        """POST the signed alert; raise a classified ``ApplicationError``."""
        await self._post(
            self.alert_body(alert), idempotency=f"{alert.analysis_id}:{alert.key}"
        )
        logger.info(
            "Posted a change alert of analysis %s to %s",
            alert.analysis_id,
            self._channel,
        )

    async def _post(self, body: bytes, *, idempotency: str) -> None:
        headers = {
            **self._headers,
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: idempotency_key(idempotency),
            SIGNATURE_HEADER: sign_body(body, self._secret),
        }
        await _http.post(
            self._url,
            content=body,
            headers=headers,
            channel=self._channel,
            timeout_s=self._timeout_s,
            client=self._client,
        )


def idempotency_key(analysis_id: str) -> str:
    """Return ``analysis_id`` as a header value: printable ASCII, percent-encoded."""
    if analysis_id.isascii() and analysis_id.isprintable():
        return analysis_id
    return urllib.parse.quote(analysis_id, safe="")
