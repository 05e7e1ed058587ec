"""Posting to an HTTP endpoint: timeouts, error classification, no leaked URLs.

A webhook URL is a credential (Slack's carries its secret in the path), so it
never appears in an error message, a log line or a repr. httpx itself logs
every request's URL at INFO on the ``httpx`` logger; a filter on that logger
replaces the URLs registered here with a placeholder.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import re
from collections.abc import Mapping

from temporalio.exceptions import ApplicationError

try:
    import httpx
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the Slack and webhook notifiers need httpx; install it with "
        "pip install 'ga4-button-workflows[http]'"
    ) from error

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ENDPOINT_UNAVAILABLE",
    "RATE_LIMITED",
    "REJECTED",
    "post",
    "validate_url",
]

DEFAULT_TIMEOUT_S = 10.0
"""Connect, read, write and pool timeout of each request, in seconds."""

REJECTED = "NotificationRejected"
"""Error type of a 4xx answer other than 429: not retried."""
RATE_LIMITED = "NotificationRateLimited"
"""Error type of a 429 answer: retried after the endpoint's Retry-After."""
ENDPOINT_UNAVAILABLE = "NotificationEndpointUnavailable"
"""Error type of a 5xx answer, a timeout or a connection failure: retried."""

_MAX_RETRY_AFTER = datetime.timedelta(hours=1)
_EXCERPT_CHARS = 200
_REDACTED = "[redacted webhook URL]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class _RedactURLs(logging.Filter):
    """Replaces registered URLs in the ``httpx`` logger's records."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.urls:
            return True
        message = record.getMessage()
        redacted = _redact(message, self.urls)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_HTTPX_LOG_FILTER = _RedactURLs()
logging.getLogger("httpx").addFilter(_HTTPX_LOG_FILTER)


def validate_url(url: str, *, what: str) -> None:
    """Check that ``url`` is an absolute http(s) URL, without echoing it.

    Also registers the URL so httpx's request log never shows it.

    Raises:
        ValueError: The URL is not http(s) or has no host.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError(f"the {what} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(
            f"the {what} must be an absolute http:// or https:// URL "
            f"(got scheme {parsed.scheme!r})"
        )
    _HTTPX_LOG_FILTER.urls.update({url, str(parsed)})


async def post(
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    channel: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST ``content`` to ``url`` and return the 2xx response.

    Raises:
        ApplicationError: Non-retryable for 3xx and 4xx answers other than
            429; retryable for 429 (with the endpoint's Retry-After as the
            next retry delay), 5xx, timeouts and connection failures. The
            message names the channel and status, never the URL.
    """
    timeout = httpx.Timeout(timeout_s)
    try:
        if client is None:
            async with httpx.AsyncClient(timeout=timeout) as own_client:
                response = await own_client.post(url, content=content, headers=headers)
        else:
            response = await client.post(
                url, content=content, headers=headers, timeout=timeout
            )
    except httpx.TimeoutException:
        raise ApplicationError(
            f"{channel}: the endpoint did not answer within {timeout_s:g} s",
            type=ENDPOINT_UNAVAILABLE,
        ) from None
    except httpx.TransportError as error:
        detail = _redact(str(error), {url, str(httpx.URL(url))})
        raise ApplicationError(
            f"{channel}: could not reach the endpoint "
            f"({type(error).__name__}: {_excerpt(detail)})",
            type=ENDPOINT_UNAVAILABLE,
        ) from None
    _raise_for_status(response, channel=channel, url=url)
    return response


def _raise_for_status(response: httpx.Response, *, channel: str, url: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    body = _excerpt(_redact(response.text, {url, str(httpx.URL(url))}))
    answer = f"HTTP {status}" + (f": {body}" if body else "")
    if status == 429:
        raise ApplicationError(
            f"{channel}: rate limited ({answer})",
            type=RATE_LIMITED,
            next_retry_delay=_retry_after(response),
        )
    if status >= 500:
        raise ApplicationError(
            f"{channel}: the endpoint failed ({answer})",
            type=ENDPOINT_UNAVAILABLE,
            next_retry_delay=_retry_after(response),
        )
    raise ApplicationError(
        f"{channel}: the endpoint refused the notification ({answer}); check the "
        "notifier's URL, secret and permissions, retrying will not help",
        type=REJECTED,
        non_retryable=True,
    )


def _retry_after(response: httpx.Response) -> datetime.timedelta | None:
    """Return the Retry-After delay (seconds or an HTTP date), capped at an hour."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        delay = datetime.timedelta(seconds=int(value))
    else:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        delay = moment - datetime.datetime.now(datetime.timezone.utc)
    if delay <= datetime.timedelta(0):
        return None
    return min(delay, _MAX_RETRY_AFTER)


def _redact(text: str, urls: set[str]) -> str:
    for url in sorted(urls, key=len, reverse=True):
        if url:
            text = text.replace(url, _REDACTED)
    return text


def _excerpt(text: str) -> str:
    flat = " ".join(_CONTROL.sub(" ", text).split())
    if len(flat) <= _EXCERPT_CHARS:
        return flat
    return flat[: _EXCERPT_CHARS - 1] + "…"
