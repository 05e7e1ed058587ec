"""Turn GA4 Data API failures into Temporal errors that say what to do.

Configuration mistakes (an unregistered custom dimension, missing access, bad
credentials) become non-retryable :class:`~temporalio.exceptions.ApplicationError`
with a message naming the fix. Exhausted quotas and server faults stay
retryable, with ``next_retry_delay`` fitted to the quota that ran out, so the
fetch activity's retry policy waits as long as GA4 needs and no longer.

The two client transports raise different classes for one status: REST raises
``TooManyRequests`` / ``Forbidden`` / ``BadRequest``, gRPC their subclasses
``ResourceExhausted`` / ``PermissionDenied`` / ``InvalidArgument``. Every check
here tests the REST base class, so both are covered.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from temporalio.exceptions import ApplicationError

__all__ = [
    "CREDENTIALS_ERROR",
    "DATA_ERROR",
    "INVALID_PROPERTY",
    "INVALID_REQUEST",
    "PERMISSION_DENIED",
    "QUOTA_EXHAUSTED",
    "SERVER_ERROR",
    "UNAUTHENTICATED",
    "UNREGISTERED_DEFINITION",
    "GA4DataError",
    "classify_ga4_error",
    "credential_identity",
    "quota_retry_delay",
]

UNREGISTERED_DEFINITION = "GA4UnregisteredCustomDefinition"
"""A ``customEvent:`` dimension or metric is not registered in the property."""
INVALID_REQUEST = "GA4InvalidRequest"
"""GA4 refused the request as malformed (400) for another reason."""
INVALID_PROPERTY = "GA4InvalidProperty"
"""The property ID is not a numeric GA4 property ID, or no such property exists."""
PERMISSION_DENIED = "GA4PermissionDenied"
"""The credentials cannot read the property (403)."""
UNAUTHENTICATED = "GA4Unauthenticated"
"""GA4 refused the credentials themselves (401)."""
CREDENTIALS_ERROR = "GA4CredentialsError"
"""No usable credentials could be loaded on this machine."""
QUOTA_EXHAUSTED = "GA4QuotaExhausted"
"""A property quota ran out (429); retried after the quota refills."""
SERVER_ERROR = "GA4ServerError"
"""A transient GA4 fault (5xx, deadline, cancelled); retried with backoff."""
DATA_ERROR = "GA4DataError"
"""GA4 answered with a value or a shape the library cannot trust."""

CONCURRENT_QUOTA_DELAY = datetime.timedelta(seconds=30)
"""Wait after "Exhausted concurrent requests quota": other requests finish soon."""
OTHER_QUOTA_DELAY = datetime.timedelta(minutes=1)
"""Wait after a quota message this module does not recognise."""
HOURLY_QUOTA_MIN_DELAY = datetime.timedelta(minutes=5)
"""Shortest wait after an hourly quota ran out."""
HOURLY_QUOTA_MAX_DELAY = datetime.timedelta(hours=1)
"""Longest wait after an hourly quota ran out; the fetch's retry policy allows it."""
DAILY_QUOTA_MAX_WAIT = datetime.timedelta(hours=1)
"""A spent daily quota is retried only when it refills within this long."""
QUOTA_MARGIN = datetime.timedelta(minutes=1)
"""Added after a refill time, so the retry does not race the refill."""

_QUOTA_ZONE = "America/Los_Angeles"
"""GA4's daily quotas refill at midnight Pacific Time."""
_NOT_A_VALID_FIELD = re.compile(
    r"Field (?P<field>\S+?)\.? is not a valid (?P<kind>dimension|metric)"
)
_CUSTOM_PREFIX = "customEvent:"
_WHERE_ACCESS_IS = "Admin > Property access management"
_WHERE_DEFINITIONS_ARE = "Admin > Data display > Custom definitions"


class GA4DataError(ApplicationError):
    """GA4 sent a value or a report shape that cannot be read safely.

    Non-retryable: asking again returns the same data. The message names the
    value, the row and the metric or dimension.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, type=DATA_ERROR, non_retryable=True)


def credential_identity(credentials: Any) -> str | None:
    """Return who the credentials act as, for error messages; None if unknown.

    Service accounts (key files, impersonation, Compute Engine) report their
    e-mail address; user credentials from ``gcloud auth application-default
    login`` report their account when Google tells it. Secrets are never read.
    """
    if credentials is None:
        return None
    email = getattr(credentials, "service_account_email", None)
    if isinstance(email, str) and email:
        if email == "default":
            return "the Compute Engine default service account"
        return email
    account = getattr(credentials, "account", None)
    if isinstance(account, str) and account:
        return account
    return None


def classify_ga4_error(  # noqa: PLR0911 - one return per class of failure
    error: BaseException,
    *,
    property_id: str,
    identity: str | None = None,
    now: datetime.datetime | None = None,
) -> ApplicationError | None:
    """Return the ApplicationError to raise for a GA4 call's failure.

    Args:
        error: What the Data API client (or google-auth) raised.
        property_id: The numeric property the call was for.
        identity: Who the credentials act as (see :func:`credential_identity`).
        now: The current time (aware); the clock when None. Quota delays are
            counted from it.

    Returns:
        The classified error, or None when ``error`` is not a GA4 or
        google-auth error (the caller re-raises it as is, and Temporal retries).
    """
    if isinstance(error, ApplicationError):
        return error
    if isinstance(error, auth_exceptions.GoogleAuthError):
        return _credentials_error(error, identity)
    if not isinstance(error, api_exceptions.GoogleAPICallError):
        return None
    message = _ga4_message(error)
    if isinstance(error, api_exceptions.TooManyRequests):
        return _quota_error(message, property_id, now or _utc_now())
    if isinstance(error, api_exceptions.Forbidden):
        return _permission_error(message, property_id, identity)
    if isinstance(error, api_exceptions.Unauthorized):
        return ApplicationError(
            f"GA4 refused {_who(identity)}: {message} Check "
            "the service-account key file, or run 'gcloud auth "
            "application-default login' again.",
            type=UNAUTHENTICATED,
            non_retryable=True,
        )
    if isinstance(error, api_exceptions.BadRequest):
        return _bad_request(message, property_id)
    if isinstance(error, api_exceptions.NotFound):
        return ApplicationError(
            f"GA4 has no property {property_id}: {message} Use the numeric "
            "property ID shown in GA4 under Admin > Property settings.",
            type=INVALID_PROPERTY,
            non_retryable=True,
        )
    if isinstance(error, api_exceptions.MethodNotImplemented):
        return ApplicationError(
            f"GA4 does not implement this call: {message}",
            type=INVALID_REQUEST,
            non_retryable=True,
        )
    if isinstance(
        error,
        api_exceptions.ServerError | api_exceptions.Cancelled | api_exceptions.Conflict,
    ):
        return ApplicationError(
            f"GA4 failed for property {property_id} ({_status(error)}): {message} "
            "The fetch is retried and resumes from its last completed page.",
            type=SERVER_ERROR,
        )
    return ApplicationError(
        f"GA4 refused the request for property {property_id} "
        f"({_status(error)}): {message}",
        type=INVALID_REQUEST,
        non_retryable=True,
    )


def quota_retry_delay(
    message: str, now: datetime.datetime
) -> datetime.timedelta | None:
    """Return how long to wait before retrying after a GA4 quota message.

    * concurrent requests: about half a minute, for other requests to finish;
    * any hourly quota (property tokens, project tokens, server errors,
      thresholded requests): until the top of the next hour plus a minute,
      at least five minutes and at most an hour;
    * a daily quota: until just after midnight Pacific Time when that is
      within an hour, otherwise None (not worth retrying: the fetch's retry
      window would run out first);
    * anything else: a minute.

    Args:
        message: GA4's error message, e.g. "Exhausted property tokens per hour."
        now: The current time, timezone-aware.
    """
    text = message.lower()
    if "concurrent" in text:
        return CONCURRENT_QUOTA_DELAY
    if "per hour" in text:
        next_hour = now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(
            hours=1
        )
        wait = next_hour - now + QUOTA_MARGIN
        return min(max(wait, HOURLY_QUOTA_MIN_DELAY), HOURLY_QUOTA_MAX_DELAY)
    if "per day" in text:
        wait = _until_daily_refill(now) + QUOTA_MARGIN
        return wait if wait <= DAILY_QUOTA_MAX_WAIT else None
    return OTHER_QUOTA_DELAY


def _until_daily_refill(now: datetime.datetime) -> datetime.timedelta:
    local = now.astimezone(zoneinfo.ZoneInfo(_QUOTA_ZONE))
    midnight = datetime.datetime.combine(
        local.date() + datetime.timedelta(days=1), datetime.time(), local.tzinfo
    )
    return midnight - local


def _quota_error(
    message: str, property_id: str, now: datetime.datetime
) -> ApplicationError:
    delay = quota_retry_delay(message, now)
    if delay is None:
        refill = _until_daily_refill(now)
        hours, rest = divmod(int(refill.total_seconds()), 3600)
        return ApplicationError(
            f"GA4's daily quota for property {property_id} is spent: {message} It "
            f"refills at midnight Pacific Time, in {hours} h {rest // 60} min; run "
            "the analysis again after that, or analyse fewer days at a time.",
            type=QUOTA_EXHAUSTED,
            non_retryable=True,
        )
    minutes = delay.total_seconds() / 60
    return ApplicationError(
        f"GA4 quota exhausted for property {property_id}: {message} Retrying in "
        f"{minutes:.1f} min, when the quota has refilled.",
        type=QUOTA_EXHAUSTED,
        next_retry_delay=delay,
    )


def _permission_error(
    message: str, property_id: str, identity: str | None
) -> ApplicationError:
    grant = (
        f"add {identity} as a Viewer of property {property_id}"
        if identity
        else f"give the account these credentials belong to Viewer access to "
        f"property {property_id}"
    )
    return ApplicationError(
        f"GA4 denied {_who(identity)} access to property {property_id}: "
        f"{message} In GA4, {grant} under {_WHERE_ACCESS_IS}, or check that "
        f"{property_id} is the numeric property ID shown under Admin > Property "
        "settings.",
        type=PERMISSION_DENIED,
        non_retryable=True,
    )


def _bad_request(message: str, property_id: str) -> ApplicationError:
    match = _NOT_A_VALID_FIELD.search(message)
    if match is None:
        return ApplicationError(
            f"GA4 refused the report request for property {property_id}: "
            f"{message} Check the event schema's dimension and metric names.",
            type=INVALID_REQUEST,
            non_retryable=True,
        )
    field, kind = match.group("field"), match.group("kind")
    if not field.startswith(_CUSTOM_PREFIX):
        return ApplicationError(
            f"GA4 property {property_id} has no {kind} {field}: {message} Fix the "
            "event schema's dimension and metric names.",
            type=INVALID_REQUEST,
            non_retryable=True,
        )
    parameter = field.removeprefix(_CUSTOM_PREFIX)
    return ApplicationError(
        f"{field} is not registered in GA4 property {property_id}: {message} "
        f"Register the event parameter {parameter!r} as an event-scoped custom "
        f"{kind} under {_WHERE_DEFINITIONS_ARE}. GA4 collects it only from the "
        "day of registration on (there is no backfill), so earlier days read "
        "'(not set)'. 'ga4-buttons check --property-id "
        f"{property_id}' lists every missing definition.",
        type=UNREGISTERED_DEFINITION,
        non_retryable=True,
    )


def _credentials_error(
    error: auth_exceptions.GoogleAuthError, identity: str | None
) -> ApplicationError:
    if type(error) is auth_exceptions.DefaultCredentialsError:
        return ApplicationError(
            f"no Google credentials found: {error} Set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, pass "
            "credentials_file=..., or run 'gcloud auth application-default "
            "login' with the analytics.readonly scope.",
            type=CREDENTIALS_ERROR,
            non_retryable=True,
        )
    retryable = bool(getattr(error, "retryable", False))
    return ApplicationError(
        f"{_who(identity)} could not be used: {error}",
        type=CREDENTIALS_ERROR,
        non_retryable=not retryable,
    )


def _ga4_message(error: api_exceptions.GoogleAPICallError) -> str:
    message = str(error.message or "").strip() or type(error).__name__
    return message if message.endswith(".") else f"{message}."


def _status(error: api_exceptions.GoogleAPICallError) -> str:
    code = error.code
    name = type(error).__name__
    return f"{name}, HTTP {int(code)}" if code is not None else name


def _who(identity: str | None) -> str:
    if identity:
        return f"the credentials of {identity}"
    return "the credentials in use (identity unknown)"


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
