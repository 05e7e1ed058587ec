"""Request handling shared by both front ends: faults, quota, the log, metadata."""

from __future__ import annotations

import datetime
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

import attrs

from ga4_button_workflows.testing._emulator_model import (
    DEFAULT_MESSAGES,
    PROPERTY_ID_HELP,
    QUOTA_MESSAGES,
    EmulatedEvent,
    EmulatorMethod,
    Fault,
    QuotaKind,
    QuotaLimits,
    ReportTable,
    RequestRecord,
    RpcError,
)
from ga4_button_workflows.testing._emulator_reports import (
    ProtoMessage,
    ReportConfig,
    run_report,
)
from ga4_button_workflows.testing._emulator_schema import (
    CUSTOM_PREFIX,
    STANDARD_DIMENSIONS,
    STANDARD_METRICS,
    DimensionInfo,
    MetricInfo,
)
from ga4_button_workflows.testing._emulator_wire import (
    BatchAnswer,
    MetadataAnswer,
    ReportAnswer,
    ResponseMeta,
)

__all__ = ["EmulatorService"]

logger = logging.getLogger("ga4_button_workflows.testing.ga4_emulator")

Transport: TypeAlias = Literal["grpc", "rest"]
Answer: TypeAlias = ReportAnswer | BatchAnswer | MetadataAnswer

_PROPERTY = re.compile(r"^properties/(\d+)$")
_METADATA_NAME = re.compile(r"^properties/(\d+)/metadata$")
_MAX_BATCH = 5
_SERVER_ERRORS = frozenset({"INTERNAL", "UNAVAILABLE", "UNKNOWN", "DATA_LOSS"})
_TOKEN_BUCKETS: tuple[tuple[QuotaKind, str], ...] = (
    ("tokens_per_day", "tokens_per_day"),
    ("tokens_per_hour", "tokens_per_hour"),
    ("project_tokens_per_hour", "tokens_per_project_per_hour"),
)
"""(quota kind, QuotaLimits field) of each token bucket."""


class EmulatorService:
    """Answers decoded Data API requests from the settings of its subclass.

    The subclass sets the public settings below; this class owns the mutable
    state (faults, counters, log, quota) behind one lock.
    """

    property_id: str
    custom_dimensions: frozenset[str]
    custom_metrics: Mapping[str, str]
    table: ReportTable | None
    time_zone: str
    today: datetime.date | None
    currency_code: str
    subject_to_thresholding: bool
    sampling: tuple[tuple[int, int], ...]
    data_loss_from_other_row: bool
    max_rows_before_other: int | None
    shuffle_ties: bool
    quota: QuotaLimits
    tokens_per_request: int
    enforce_quota: bool

    def __init__(
        self,
        *,
        events: Sequence[EmulatedEvent],
        property_ids: frozenset[str],
        faults: Sequence[Fault],
    ) -> None:
        self._events = tuple(events)
        self._property_ids = property_ids
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults: list[Fault] = list(faults)
        self._fault_hits: list[int] = [0] * len(self._faults)
        self._records: list[RequestRecord] = []
        self._calls: dict[str, int] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        self._tokens_used = 0
        self._server_errors = 0
        self._thresholded_requests = 0

    # --- data, faults and observations ---------------------------------------------

    @property
    def events(self) -> tuple[EmulatedEvent, ...]:
        """The event table."""
        return self._events

    def add_events(self, events: Sequence[EmulatedEvent]) -> None:
        """Append events; requests already running keep the table they started with."""
        new_events = tuple(events)
        with self._lock:
            self._events = self._events + new_events

    def inject(self, *faults: Fault) -> None:
        """Add faults; each counts its own matches for ``Fault.times``."""
        with self._lock:
            self._faults.extend(faults)
            self._fault_hits.extend(0 for _ in faults)

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()
            self._fault_hits.clear()

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every answered request, in the order they finished."""
        with self._lock:
            return tuple(self._records)

    def report_requests(self) -> tuple[RequestRecord, ...]:
        """The runReport and batchRunReports records only."""
        return tuple(r for r in self.requests if r.method != "getMetadata")

    @property
    def max_concurrent_requests(self) -> int:
        """The most requests that were in flight at once since the last reset."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight_requests(self) -> int:
        """Requests being answered right now."""
        with self._lock:
            return self._in_flight

    def reset_requests(self) -> None:
        """Clear the request log, the call counters and the concurrency high-water."""
        with self._lock:
            self._records.clear()
            self._calls.clear()
            self._max_in_flight = self._in_flight

    def reset_quota(self) -> None:
        """Refill every quota bucket."""
        with self._lock:
            self._tokens_used = 0
            self._server_errors = 0
            self._thresholded_requests = 0

    @property
    def tokens_consumed(self) -> int:
        """Tokens consumed since the last :meth:`reset_quota`."""
        with self._lock:
            return self._tokens_used

    # --- dispatch ------------------------------------------------------------------

    def dispatch(
        self, method: str, request: ProtoMessage, transport: Transport
    ) -> Answer:
        """Answer one decoded request, or raise the :class:`RpcError` to send."""
        with self._in_flight_slot() as in_flight:
            if method == "getMetadata":
                call_number = self._next_call("getMetadata")
                record = RequestRecord(
                    method="getMetadata",
                    transport=transport,
                    property=request.name,
                    call_number=call_number,
                )
                return self._logged(
                    [record],
                    lambda: self._get_metadata(request, call_number, in_flight),
                )
            if method == "batchRunReports":
                call_number = self._next_call("batchRunReports")
                records = [
                    _record_of(
                        "batchRunReports",
                        transport,
                        call_number,
                        report,
                        property_name=report.property or request.property,
                    )
                    for report in request.requests
                ]
                return self._logged(
                    records,
                    lambda: self._batch_run_reports(request, call_number, in_flight),
                )
            call_number = self._next_call("runReport")
            record = _record_of("runReport", transport, call_number, request)
            return self._logged(
                [record], lambda: self._run_report(request, call_number, in_flight)
            )

    @contextmanager
    def _in_flight_slot(self) -> Iterator[int]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            in_flight = self._in_flight
        try:
            yield in_flight
        finally:
            with self._lock:
                self._in_flight -= 1

    def _next_call(self, method: EmulatorMethod) -> int:
        with self._lock:
            self._calls[method] = self._calls.get(method, 0) + 1
            return self._calls[method]

    def _logged(
        self, records: Sequence[RequestRecord], produce: Callable[[], Answer]
    ) -> Answer:
        try:
            answer = produce()
        except RpcError as error:
            self._finish([attrs.evolve(r, status=error.status) for r in records])
            raise
        if isinstance(answer, MetadataAnswer):
            self._finish(records)
            return answer
        results = (
            [answer.result]
            if isinstance(answer, ReportAnswer)
            else [report.result for report in answer.reports]
        )
        self._finish(
            [
                attrs.evolve(
                    record, rows_returned=len(result.rows), row_count=result.row_count
                )
                for record, result in zip(records, results, strict=True)
            ]
        )
        return answer

    def _finish(self, records: Sequence[RequestRecord]) -> None:
        with self._lock:
            self._records.extend(records)
            self._server_errors += sum(r.status in _SERVER_ERRORS for r in records)
        for record in records:
            logger.debug(
                "GA4 emulator %s %s offset=%d limit=%d -> %s (%d rows of %d)",
                record.transport,
                record.method,
                record.offset,
                record.limit,
                record.status,
                record.rows_returned,
                record.row_count,
            )

    # --- methods -------------------------------------------------------------------

    def _run_report(
        self, request: ProtoMessage, call_number: int, in_flight: int
    ) -> ReportAnswer:
        empty_page = self._before_answer(
            "runReport", call_number, [request.offset], in_flight
        )
        self._check_property(request.property)
        return self._answer_report(request, empty_page=empty_page)

    def _batch_run_reports(
        self, request: ProtoMessage, call_number: int, in_flight: int
    ) -> BatchAnswer:
        offsets = [report.offset for report in request.requests]
        empty_page = self._before_answer(
            "batchRunReports", call_number, offsets, in_flight
        )
        self._check_property(request.property)
        if len(request.requests) > _MAX_BATCH:
            raise RpcError(
                "INVALID_ARGUMENT",
                f"A batch can have at most {_MAX_BATCH} requests; "
                f"got {len(request.requests)}.",
            )
        for index, report in enumerate(request.requests):
            if report.property not in ("", request.property):
                raise RpcError(
                    "INVALID_ARGUMENT",
                    f"requests[{index}].property {report.property!r} must be empty "
                    f"or match the batch's {request.property!r}.",
                )
        answers = [
            self._answer_report(report, empty_page=empty_page)
            for report in request.requests
        ]
        return BatchAnswer(reports=tuple(answers))

    def _get_metadata(
        self, request: ProtoMessage, call_number: int, in_flight: int
    ) -> MetadataAnswer:
        self._before_answer("getMetadata", call_number, [], in_flight)
        match = _METADATA_NAME.match(request.name)
        if match is None:
            raise RpcError(
                "INVALID_ARGUMENT",
                f"Invalid metadata name {request.name!r}; expected "
                f"'properties/<numeric property ID>/metadata'. {PROPERTY_ID_HELP}",
            )
        universal = match.group(1) == "0"
        if not universal:
            self._check_property(f"properties/{match.group(1)}")
        return self._metadata(request.name, universal=universal)

    def _before_answer(
        self, method: str, call_number: int, offsets: Sequence[int], in_flight: int
    ) -> bool:
        """Apply the concurrency limit and faults; returns whether to empty the page."""
        if self.enforce_quota and in_flight > self.quota.concurrent_requests:
            raise RpcError("RESOURCE_EXHAUSTED", QUOTA_MESSAGES["concurrent_requests"])

        with self._lock:
            matched = []
            for index, fault in enumerate(self._faults):
                spent = (
                    fault.times is not None and self._fault_hits[index] >= fault.times
                )
                if not spent and fault.matches(method, call_number, offsets):
                    self._fault_hits[index] += 1
                    matched.append(fault)

        latency_s = sum(fault.latency_s for fault in matched)
        if latency_s:
            # Waiting on the stop event lets stop() cut a long latency short.
            self._stopping.wait(latency_s)
        for fault in matched:
            if fault.status is not None:
                raise RpcError(fault.status, fault.error_message)
        return any(fault.empty_page for fault in matched)

    def _check_property(self, name: str) -> None:
        match = _PROPERTY.match(name)
        if match is None:
            raise RpcError(
                "INVALID_ARGUMENT",
                f"Invalid property {name!r}: the Data API needs 'properties/' "
                "followed by the numeric property ID (not a measurement ID such as "
                f"G-XXXXXXXXXX). {PROPERTY_ID_HELP}",
            )
        if match.group(1) not in self._property_ids:
            raise RpcError("PERMISSION_DENIED", DEFAULT_MESSAGES["PERMISSION_DENIED"])

    def _answer_report(
        self, request: ProtoMessage, *, empty_page: bool
    ) -> ReportAnswer:
        config = ReportConfig(
            events=self._events,
            table=self.table,
            custom_dimensions=self.custom_dimensions,
            custom_metrics=self.custom_metrics,
            today=self.property_today(),
            max_rows_before_other=self.max_rows_before_other,
            tie_seed=self._tie_seed(),
            empty_page=empty_page,
        )
        result = run_report(request, config)
        quota = self._charge_tokens()
        meta = ResponseMeta(
            currency_code=self.currency_code,
            time_zone=self.time_zone,
            subject_to_thresholding=self.subject_to_thresholding,
            data_loss_from_other_row=self.data_loss_from_other_row,
            sampling=self.sampling,
        )
        return ReportAnswer(
            result=result,
            meta=meta,
            quota=quota if request.return_property_quota else None,
        )

    def property_today(self) -> datetime.date:
        """The property's current day: ``today`` if set, else the clock's."""
        if self.today is not None:
            return self.today
        return datetime.datetime.now(ZoneInfo(self.time_zone)).date()

    def _tie_seed(self) -> int | None:
        if not self.shuffle_ties:
            return None
        with self._lock:
            return sum(self._calls.values())

    def _charge_tokens(self) -> dict[str, tuple[int, int]]:
        """Consume one report's tokens; returns (consumed, remaining) per quota."""
        cost = self.tokens_per_request
        limits = self.quota
        with self._lock:
            if self.enforce_quota:
                for kind, field in _TOKEN_BUCKETS:
                    if self._tokens_used + cost > getattr(limits, field):
                        raise RpcError("RESOURCE_EXHAUSTED", QUOTA_MESSAGES[kind])
            self._tokens_used += cost
            self._thresholded_requests += int(self.subject_to_thresholding)
            used = self._tokens_used
            server_errors_left = (
                limits.server_errors_per_project_per_hour - self._server_errors
            )
            thresholded_left = (
                limits.potentially_thresholded_requests_per_hour
                - self._thresholded_requests
            )
            concurrent_left = limits.concurrent_requests - self._in_flight + 1
        return {
            "tokens_per_day": (cost, max(limits.tokens_per_day - used, 0)),
            "tokens_per_hour": (cost, max(limits.tokens_per_hour - used, 0)),
            "concurrent_requests": (0, max(concurrent_left, 0)),
            "server_errors_per_project_per_hour": (0, max(server_errors_left, 0)),
            "potentially_thresholded_requests_per_hour": (
                int(self.subject_to_thresholding),
                max(thresholded_left, 0),
            ),
            "tokens_per_project_per_hour": (
                cost,
                max(limits.tokens_per_project_per_hour - used, 0),
            ),
        }

    def _metadata(self, name: str, *, universal: bool) -> MetadataAnswer:
        dimensions = [
            (api_name, info, False) for api_name, info in STANDARD_DIMENSIONS.items()
        ]
        metrics = [
            (api_name, info, False) for api_name, info in STANDARD_METRICS.items()
        ]
        if not universal:
            custom_dimensions, custom_metrics = self._custom_definitions()
            dimensions += [
                (
                    f"{CUSTOM_PREFIX}{param}",
                    DimensionInfo(
                        param,
                        "An event scoped custom dimension for your Analytics property.",
                        "Custom",
                    ),
                    True,
                )
                for param in sorted(custom_dimensions)
            ]
            metrics += [
                (
                    f"{CUSTOM_PREFIX}{param}",
                    MetricInfo(
                        param,
                        "An event scoped custom metric for your Analytics property.",
                        "Custom",
                        metric_type,
                    ),
                    True,
                )
                for param, metric_type in sorted(custom_metrics.items())
            ]
        return MetadataAnswer(
            name=name, dimensions=tuple(dimensions), metrics=tuple(metrics)
        )

    def _custom_definitions(self) -> tuple[set[str], dict[str, str]]:
        """Registered custom dimensions and metrics, plus those a table carries."""
        custom_dimensions = set(self.custom_dimensions)
        custom_metrics = dict(self.custom_metrics)
        if self.table is not None:
            custom_dimensions.update(
                name.removeprefix(CUSTOM_PREFIX)
                for name in self.table.dimensions
                if name.startswith(CUSTOM_PREFIX)
            )
            custom_metrics.update(
                (name.removeprefix(CUSTOM_PREFIX), metric_type)
                for name, metric_type in self.table.metrics
                if name.startswith(CUSTOM_PREFIX)
            )
        return custom_dimensions, custom_metrics


def _record_of(
    method: EmulatorMethod,
    transport: Transport,
    call_number: int,
    request: ProtoMessage,
    *,
    property_name: str | None = None,
) -> RequestRecord:
    return RequestRecord(
        method=method,
        transport=transport,
        property=property_name if property_name is not None else request.property,
        call_number=call_number,
        offset=request.offset,
        limit=request.limit,
        dimensions=tuple(d.name for d in request.dimensions),
        metrics=tuple(m.name for m in request.metrics),
        date_ranges=tuple((r.start_date, r.end_date) for r in request.date_ranges),
    )
