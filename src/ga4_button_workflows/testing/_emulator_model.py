"""Plain data for the GA4 emulator: events, tables, faults, quotas and the request log.

Nothing here imports grpc or protobuf, so a test module can build events and faults
without paying for the wire machinery.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

import attrs

from ga4_button_workflows.testing._emulator_schema import standard_metric_type

__all__ = [
    "EmulatedEvent",
    "EmulatorMethod",
    "Fault",
    "MetricValueLike",
    "QuotaKind",
    "QuotaLimits",
    "ReportTable",
    "RequestRecord",
    "StatusName",
    "TableRow",
]

ParamValue: TypeAlias = str | int | float
"""A GA4 event parameter value: GA4 keeps strings and numbers."""

MetricValueLike: TypeAlias = str | int | float
"""A metric value in a :class:`ReportTable`; strings travel verbatim (``"1.5e3"``)."""

TableRow: TypeAlias = tuple[Sequence[str], Sequence[MetricValueLike]]
"""One pre-aggregated row: dimension values, then metric values, in table order."""

EmulatorMethod: TypeAlias = Literal["runReport", "batchRunReports", "getMetadata"]
"""The Data API methods the emulator answers, named as in the REST reference."""

StatusName: TypeAlias = Literal[
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
]
"""A google.rpc status name, as carried in ``error.status`` of a REST error body."""

QuotaKind: TypeAlias = Literal[
    "concurrent_requests",
    "tokens_per_hour",
    "tokens_per_day",
    "project_tokens_per_hour",
]
"""Which GA4 property quota ran out."""

# (gRPC code number, HTTP status) per google.rpc.Code, as Google's front ends map them.
STATUS_CODES: Mapping[str, tuple[int, int]] = {
    "OK": (0, 200),
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "DATA_LOSS": (15, 500),
    "UNAUTHENTICATED": (16, 401),
}

PROPERTY_ID_HELP = (
    "To learn more about Property ID, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
)
SCHEMA_HELP = (
    "For a list of valid dimensions and metrics, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
)

QUOTA_MESSAGES: Mapping[QuotaKind, str] = {
    "concurrent_requests": "Exhausted concurrent requests quota.",
    "tokens_per_hour": "Exhausted property tokens per hour.",
    "tokens_per_day": "Exhausted property tokens per day.",
    "project_tokens_per_hour": "Exhausted property tokens for a project per hour.",
}

DEFAULT_MESSAGES: Mapping[str, str] = {
    "CANCELLED": "The operation was cancelled.",
    "UNKNOWN": "Unknown error.",
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "DEADLINE_EXCEEDED": "The request deadline was exceeded.",
    "NOT_FOUND": "Requested entity was not found.",
    "ALREADY_EXISTS": "Requested entity already exists.",
    "PERMISSION_DENIED": (
        f"User does not have sufficient permissions for this property. "
        f"{PROPERTY_ID_HELP}"
    ),
    "RESOURCE_EXHAUSTED": QUOTA_MESSAGES["concurrent_requests"],
    "FAILED_PRECONDITION": "Precondition check failed.",
    "ABORTED": "The operation was aborted.",
    "OUT_OF_RANGE": "The request is out of range.",
    "UNIMPLEMENTED": "The method is not implemented by the GA4 emulator.",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DATA_LOSS": "Unrecoverable data loss or corruption.",
    "UNAUTHENTICATED": (
        "Request is missing required authentication credential. Expected OAuth 2 "
        "access token, login cookie or other valid authentication credential."
    ),
}


class RpcError(Exception):
    """A Data API error the emulator answers with, on either transport."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    @property
    def grpc_code(self) -> int:
        """The numeric gRPC status code."""
        return STATUS_CODES[self.status][0]

    @property
    def http_status(self) -> int:
        """The HTTP status the REST front end answers with."""
        return STATUS_CODES[self.status][1]


def _name(pair: tuple[str, ParamValue]) -> str:
    return pair[0]


def _freeze_params(
    params: Mapping[str, ParamValue] | Iterable[tuple[str, ParamValue]],
) -> tuple[tuple[str, ParamValue], ...]:
    pairs = params.items() if isinstance(params, Mapping) else params
    return tuple(sorted(((str(name), value) for name, value in pairs), key=_name))


@attrs.frozen(kw_only=True)
class EmulatedEvent:
    """One GA4 event as the emulator stores it.

    ``params`` accepts a mapping and is kept as a sorted tuple of pairs, so events
    are hashable and cannot change after they are handed to the emulator.
    """

    date: datetime.date
    """The event's day in the property's time zone."""
    user_id: str
    """Who sent it; user metrics count distinct values of this."""
    event_name: str
    """The GA4 event name, for example ``cta_click``."""
    params: tuple[tuple[str, ParamValue], ...] = attrs.field(
        default=(), converter=_freeze_params
    )
    """Event parameters such as ``button_type`` or ``hover_duration`` (ms)."""

    def param(self, name: str) -> ParamValue | None:
        """The value of parameter ``name``, or ``None`` when the event lacks it."""
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def param_map(self) -> dict[str, ParamValue]:
        """The parameters as a fresh dictionary."""
        return dict(self.params)


def _to_call_numbers(value: int | Iterable[int] | None) -> Collection[int] | None:
    if value is None or isinstance(value, range | frozenset):
        return value
    if isinstance(value, int):
        return frozenset((value,))
    return frozenset(value)


def _to_offsets(value: int | Iterable[int] | None) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return frozenset((value,))
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Fault:
    """Something to go wrong on purpose: an error status, latency or an empty page.

    A fault applies to a request when the method matches, the call number is in
    ``calls`` (when given), the request's offset is in ``offsets`` (when given), and
    it has fired fewer than ``times`` times (when given). Every matching fault adds
    its latency; the first matching fault with a ``status`` answers with that error.

    Examples:
        ``Fault(status="UNAVAILABLE", calls=2)`` fails the second runReport call;
        ``Fault(status="INTERNAL", offsets=100_000, times=1)`` fails the page at
        offset 100,000 once, so the retry succeeds;
        ``Fault(latency_s=0.2)`` slows every runReport call.
    """

    status: StatusName | None = None
    """The google.rpc status to answer with; ``None`` for latency or empty pages."""
    message: str | None = None
    """The error message; ``None`` picks GA4's usual message for ``status``."""
    calls: Collection[int] | None = attrs.field(
        default=None, converter=_to_call_numbers
    )
    """1-based call numbers of ``method`` this fault applies to (int, range, set)."""
    offsets: frozenset[int] | None = attrs.field(default=None, converter=_to_offsets)
    """Report offsets this fault applies to; ``None`` for any offset."""
    method: EmulatorMethod = "runReport"
    """Which method's calls are counted and matched."""
    latency_s: float = 0.0
    """Seconds to wait before answering."""
    empty_page: bool = False
    """Answer with no rows while ``rowCount`` still tells the full size."""
    times: int | None = None
    """Stop applying after this many matches; ``None`` for no limit."""

    def __attrs_post_init__(self) -> None:
        if self.status is not None and self.status not in STATUS_CODES:
            raise ValueError(
                f"Fault status {self.status!r} is not a google.rpc status name; "
                f"use one of {sorted(set(STATUS_CODES) - {'OK'})}"
            )
        if self.latency_s < 0:
            raise ValueError(f"Fault latency_s must be >= 0, got {self.latency_s}")

    @property
    def error_message(self) -> str:
        """The message sent with ``status``."""
        if self.message is not None:
            return self.message
        return DEFAULT_MESSAGES.get(self.status or "", "")

    @classmethod
    def quota_exhausted(
        cls,
        kind: QuotaKind = "concurrent_requests",
        *,
        calls: int | Iterable[int] | None = None,
        offsets: int | Iterable[int] | None = None,
        method: EmulatorMethod = "runReport",
        times: int | None = None,
    ) -> Fault:
        """A 429 RESOURCE_EXHAUSTED with GA4's message for the quota ``kind``."""
        return cls(
            status="RESOURCE_EXHAUSTED",
            message=QUOTA_MESSAGES[kind],
            calls=calls,
            offsets=offsets,
            method=method,
            times=times,
        )

    def matches(self, method: str, call_number: int, offsets: Iterable[int]) -> bool:
        """Whether this fault applies to a call (``times`` is checked by the caller)."""
        if method != self.method:
            return False
        if self.calls is not None and call_number not in self.calls:
            return False
        return self.offsets is None or any(o in self.offsets for o in offsets)


@attrs.frozen(kw_only=True)
class QuotaLimits:
    """A property's Data API quota (core tokens), per GA4's published limits."""

    tokens_per_day: int = 200_000
    """Core tokens per property per day."""
    tokens_per_hour: int = 40_000
    """Core tokens per property per hour."""
    tokens_per_project_per_hour: int = 14_000
    """Core tokens per property per Google Cloud project per hour."""
    concurrent_requests: int = 10
    """Requests in flight at once for the property."""
    server_errors_per_project_per_hour: int = 10
    """Server errors per property per project per hour."""
    potentially_thresholded_requests_per_hour: int = 120
    """Requests with thresholded dimensions per property per hour."""

    @classmethod
    def analytics_360(cls) -> QuotaLimits:
        """The larger limits of a Google Analytics 360 property."""
        return cls(
            tokens_per_day=2_000_000,
            tokens_per_hour=400_000,
            tokens_per_project_per_hour=140_000,
            concurrent_requests=50,
            server_errors_per_project_per_hour=50,
            potentially_thresholded_requests_per_hour=120,
        )


def _to_metric_types(
    metrics: Mapping[str, str] | Sequence[str],
) -> tuple[tuple[str, str], ...]:
    if isinstance(metrics, Mapping):
        return tuple((str(name), str(kind)) for name, kind in metrics.items())
    return tuple((name, standard_metric_type(name)) for name in metrics)


def _to_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(names)


def _to_rows(
    rows: Iterable[TableRow] | Callable[[int], TableRow],
) -> tuple[TableRow, ...] | Callable[[int], TableRow]:
    return rows if callable(rows) else tuple(rows)


@attrs.frozen(kw_only=True)
class ReportTable:
    """A pre-aggregated report to serve as is, for scale tests.

    ``rows`` is either a finite iterable (kept in memory, filtered and sorted like
    real data) or a function from a row index to a row, called only for the rows a
    page needs, so a 1,000,000-row report costs no memory. A function-backed
    table is served in index order whatever ``orderBys`` asks: write the function
    to yield rows in the order your client requests.
    """

    dimensions: tuple[str, ...] = attrs.field(converter=_to_names)
    """Dimension API names, in the order each row lists its values."""
    metrics: tuple[tuple[str, str], ...] = attrs.field(converter=_to_metric_types)
    """(API name, metric type) pairs; a plain name list gets standard types."""
    rows: tuple[TableRow, ...] | Callable[[int], TableRow] = attrs.field(
        converter=_to_rows
    )
    """The rows, or a function ``index -> row`` for ``0 <= index < row_count``."""
    row_count: int = attrs.field()
    """How many rows the table has; required with a row function."""

    @row_count.default
    def _count_rows(self) -> int:
        if callable(self.rows):
            raise TypeError("ReportTable needs row_count when rows is a function")
        return len(self.rows)

    def __attrs_post_init__(self) -> None:
        if not callable(self.rows) and len(self.rows) != self.row_count:
            raise ValueError(
                f"ReportTable row_count={self.row_count} but {len(self.rows)} rows "
                "were given; leave row_count out for an in-memory table"
            )

    def row(self, index: int) -> TableRow:
        """Row ``index``, computed on demand for a function-backed table."""
        if callable(self.rows):
            return self.rows(index)
        return self.rows[index]


@attrs.frozen(kw_only=True)
class RequestRecord:
    """One report (or metadata) request as the emulator saw it."""

    method: EmulatorMethod
    """``runReport``, ``batchRunReports`` (one record per report) or ``getMetadata``."""
    transport: Literal["grpc", "rest"]
    """Which server answered: ``grpc`` (sync and asyncio clients) or ``rest``."""
    property: str
    """The resource name asked for, such as ``properties/123456789``."""
    call_number: int
    """1-based count of calls to ``method``, the number faults match against."""
    offset: int = 0
    """The request's ``offset``."""
    limit: int = 0
    """The request's ``limit`` as sent; 0 when unset (GA4 then returns 10,000)."""
    dimensions: tuple[str, ...] = ()
    """Requested dimension names."""
    metrics: tuple[str, ...] = ()
    """Requested metric names."""
    date_ranges: tuple[tuple[str, str], ...] = ()
    """Requested (startDate, endDate) pairs, as sent."""
    status: str = "OK"
    """``OK`` or the google.rpc status name answered."""
    rows_returned: int = 0
    """Rows in the answered page."""
    row_count: int = 0
    """The ``rowCount`` answered."""
