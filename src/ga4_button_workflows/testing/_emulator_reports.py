"""The report engine: one RunReportRequest in, one page of rows out.

It works on the raw protobuf request (whichever transport parsed it) and returns a
wire-neutral :class:`ReportResult`; the servers encode that as protobuf or JSON.
"""

from __future__ import annotations

import datetime
import functools
import math
import operator
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import attrs

from ga4_button_workflows.testing._emulator_model import (
    SCHEMA_HELP,
    EmulatedEvent,
    MetricValueLike,
    ReportTable,
    RpcError,
)
from ga4_button_workflows.testing._emulator_schema import (
    CUSTOM_PREFIX,
    STANDARD_DIMENSIONS,
    STANDARD_METRICS,
)

__all__ = ["FormattedRow", "ReportConfig", "ReportResult", "run_report"]

ProtoMessage: TypeAlias = Any
"""A raw google.analytics.data.v1beta protobuf message (proto-plus has no stubs)."""

Row: TypeAlias = tuple[tuple[str, ...], tuple[MetricValueLike, ...]]
FormattedRow: TypeAlias = tuple[tuple[str, ...], tuple[str, ...]]
Lookup: TypeAlias = Callable[[str], MetricValueLike]
Predicate: TypeAlias = Callable[[Lookup], bool]

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
MAX_DIMENSIONS = 9
MAX_METRICS = 10
MAX_DATE_RANGES = 4
NOT_SET = "(not set)"
OTHER = "(other)"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")

# Enum numbers of google.analytics.data.v1beta, as carried on both transports.
_EXACT, _BEGINS_WITH, _ENDS_WITH, _CONTAINS, _FULL_REGEXP, _PARTIAL_REGEXP = range(1, 7)
_EQUAL, _LESS_THAN, _LESS_OR_EQUAL, _GREATER_THAN, _GREATER_OR_EQUAL = range(1, 6)
_CASE_INSENSITIVE_ALPHANUMERIC, _NUMERIC = 2, 3
_TOTAL, _MINIMUM, _MAXIMUM = 1, 5, 6


@attrs.frozen(kw_only=True)
class ReportConfig:
    """What one request is answered from: a snapshot of the emulator's settings."""

    events: tuple[EmulatedEvent, ...] = ()
    table: ReportTable | None = None
    custom_dimensions: frozenset[str] = frozenset()
    custom_metrics: Mapping[str, str] = attrs.field(factory=dict)
    today: datetime.date
    max_rows_before_other: int | None = None
    tie_seed: int | None = None
    """Shuffle rows that tie under the requested order with this seed; ``None``
    breaks ties by dimension values, ascending."""
    empty_page: bool = False


@attrs.frozen(kw_only=True)
class ReportResult:
    """One answered page, before it is put on the wire."""

    dimension_names: tuple[str, ...]
    metric_headers: tuple[tuple[str, str], ...]
    rows: list[FormattedRow]
    row_count: int
    totals: list[FormattedRow] = attrs.field(factory=list)
    maximums: list[FormattedRow] = attrs.field(factory=list)
    minimums: list[FormattedRow] = attrs.field(factory=list)
    data_loss_from_other_row: bool = False


def invalid(message: str) -> RpcError:
    """An INVALID_ARGUMENT error."""
    return RpcError("INVALID_ARGUMENT", message)


def format_number(value: MetricValueLike) -> str:
    """A metric value as GA4 sends it: a decimal string, verbatim for strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _as_number(value: MetricValueLike) -> float:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return -math.inf
        return number if math.isfinite(number) else -math.inf
    return float(value)


# --- dates -------------------------------------------------------------------------


def _resolve_date(text: str, today: datetime.date, where: str) -> datetime.date:
    if text == "today":
        return today
    if text == "yesterday":
        return today - datetime.timedelta(days=1)
    days_ago = _DAYS_AGO.match(text)
    if days_ago:
        return today - datetime.timedelta(days=int(days_ago.group(1)))
    if _ISO_DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise invalid(
        f"Invalid {where}: {text!r}. Dates must be YYYY-MM-DD, 'today', "
        "'yesterday' or 'NdaysAgo'."
    )


def resolve_date_ranges(
    request: ProtoMessage, today: datetime.date, *, required: bool
) -> list[tuple[str, datetime.date, datetime.date]]:
    """The request's date ranges as (name, first day, last day), days inclusive."""
    ranges = list(request.date_ranges)
    if not ranges and required:
        raise invalid("dateRanges is required: give at least one date range.")
    if len(ranges) > MAX_DATE_RANGES:
        raise invalid(f"Requests can have at most {MAX_DATE_RANGES} dateRanges.")

    resolved = []
    for index, date_range in enumerate(ranges):
        start = _resolve_date(
            date_range.start_date, today, f"dateRanges[{index}].startDate"
        )
        end = _resolve_date(date_range.end_date, today, f"dateRanges[{index}].endDate")
        if start > end:
            raise invalid(
                f"dateRanges[{index}] starts on {start} after it ends on {end}; "
                "startDate must be on or before endDate."
            )
        resolved.append((date_range.name or f"date_range_{index}", start, end))
    return resolved


# --- names -------------------------------------------------------------------------


def not_a_valid(name: str, kind: str) -> RpcError:
    """GA4's error for an unknown or unregistered dimension or metric."""
    return invalid(f"Field {name} is not a valid {kind}. {SCHEMA_HELP}")


def _requested_names(request: ProtoMessage) -> tuple[list[str], list[str]]:
    dimensions = []
    for dimension in request.dimensions:
        if dimension.HasField("dimension_expression"):
            raise invalid(
                f"The GA4 emulator does not support dimensionExpression "
                f"({dimension.name!r})."
            )
        dimensions.append(dimension.name)
    metrics = []
    for metric in request.metrics:
        if metric.expression:
            raise invalid(
                f"The GA4 emulator does not support metric expressions "
                f"({metric.name!r}: {metric.expression!r})."
            )
        metrics.append(metric.name)

    if not dimensions and not metrics:
        raise invalid("A report needs at least one dimension or metric.")
    if len(dimensions) > MAX_DIMENSIONS:
        raise invalid(f"Requests can have at most {MAX_DIMENSIONS} dimensions.")
    if len(metrics) > MAX_METRICS:
        raise invalid(f"Requests can have at most {MAX_METRICS} metrics.")
    for names in (dimensions, metrics):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise invalid(f"Field {duplicates[0]} is requested more than once.")
    return dimensions, metrics


def event_metric_type(name: str, config: ReportConfig) -> str | None:
    """The type of a metric computable from events, or ``None`` if unknown."""
    if name in STANDARD_METRICS:
        return STANDARD_METRICS[name].type
    if name.startswith(CUSTOM_PREFIX):
        return config.custom_metrics.get(name.removeprefix(CUSTOM_PREFIX))
    return None


def _is_event_dimension(name: str, config: ReportConfig) -> bool:
    if name in STANDARD_DIMENSIONS:
        return True
    return (
        name.startswith(CUSTOM_PREFIX)
        and name.removeprefix(CUSTOM_PREFIX) in config.custom_dimensions
    )


# --- filters -----------------------------------------------------------------------


def _numeric_value(value: ProtoMessage) -> float:
    kind = value.WhichOneof("one_value")
    return float(value.double_value if kind == "double_value" else value.int64_value)


def _string_predicate(
    field: str, string_filter: ProtoMessage
) -> Callable[[MetricValueLike], bool]:
    wanted = string_filter.value
    case_sensitive = bool(string_filter.case_sensitive)
    match_type = string_filter.match_type or _EXACT

    if match_type in (_FULL_REGEXP, _PARTIAL_REGEXP):
        try:
            pattern = re.compile(wanted, 0 if case_sensitive else re.IGNORECASE)
        except re.error as error:
            raise invalid(
                f"Invalid regular expression {wanted!r} for {field}: {error}"
            ) from error
        matcher = pattern.fullmatch if match_type == _FULL_REGEXP else pattern.search
        return lambda value: matcher(format_number(value)) is not None

    if not case_sensitive:
        wanted = wanted.lower()
    tests: Mapping[int, Callable[[str], bool]] = {
        _EXACT: lambda text: text == wanted,
        _BEGINS_WITH: lambda text: text.startswith(wanted),
        _ENDS_WITH: lambda text: text.endswith(wanted),
        _CONTAINS: lambda text: wanted in text,
    }
    test = tests[match_type]
    if case_sensitive:
        return lambda value: test(format_number(value))
    return lambda value: test(format_number(value).lower())


def _numeric_predicate(
    numeric_filter: ProtoMessage,
) -> Callable[[MetricValueLike], bool]:
    wanted = _numeric_value(numeric_filter.value)
    operations: Mapping[int, Callable[[float], bool]] = {
        _EQUAL: lambda number: number == wanted,
        _LESS_THAN: lambda number: number < wanted,
        _LESS_OR_EQUAL: lambda number: number <= wanted,
        _GREATER_THAN: lambda number: number > wanted,
        _GREATER_OR_EQUAL: lambda number: number >= wanted,
    }
    operation = operations.get(numeric_filter.operation)
    if operation is None:
        raise invalid("numericFilter.operation must be set.")
    return lambda value: operation(_as_number(value))


def _leaf_predicate(leaf: ProtoMessage) -> Callable[[MetricValueLike], bool]:
    kind = leaf.WhichOneof("one_filter")
    if kind == "string_filter":
        return _string_predicate(leaf.field_name, leaf.string_filter)
    if kind == "in_list_filter":
        case_sensitive = bool(leaf.in_list_filter.case_sensitive)
        values = {
            v if case_sensitive else v.lower() for v in leaf.in_list_filter.values
        }
        if case_sensitive:
            return lambda value: format_number(value) in values
        return lambda value: format_number(value).lower() in values
    if kind == "numeric_filter":
        return _numeric_predicate(leaf.numeric_filter)
    if kind == "between_filter":
        low = _numeric_value(leaf.between_filter.from_value)
        high = _numeric_value(leaf.between_filter.to_value)
        return lambda value: low <= _as_number(value) <= high
    if kind == "empty_filter":
        return lambda value: format_number(value) in ("", NOT_SET)
    raise invalid(f"The filter on {leaf.field_name} has no condition.")


def compile_filter(
    expression: ProtoMessage, check_field: Callable[[str], None]
) -> Predicate:
    """A predicate over a field lookup for a FilterExpression."""
    kind = expression.WhichOneof("expr")
    if kind in ("and_group", "or_group"):
        group = getattr(expression, kind).expressions
        parts = [compile_filter(part, check_field) for part in group]
        combine = all if kind == "and_group" else any
        return lambda lookup: combine(part(lookup) for part in parts)
    if kind == "not_expression":
        inner = compile_filter(expression.not_expression, check_field)
        return lambda lookup: not inner(lookup)
    if kind == "filter":
        field = expression.filter.field_name
        check_field(field)
        test = _leaf_predicate(expression.filter)
        return lambda lookup: test(lookup(field))
    return lambda lookup: True


# --- events ------------------------------------------------------------------------


def _param_text(event: EmulatedEvent, name: str) -> str:
    value = event.param(name)
    return NOT_SET if value is None else format_number(value)


def _page_path(event: EmulatedEvent) -> str:
    path = event.param("page_path")
    if path is not None:
        return format_number(path)
    location = event.param("page_location")
    if location is None:
        return NOT_SET
    return urlsplit(str(location)).path or "/"


_EVENT_DIMENSIONS: Mapping[str, Callable[[EmulatedEvent], str]] = {
    "date": lambda event: event.date.strftime("%Y%m%d"),
    "eventName": lambda event: event.event_name,
    "itemPromotionCreativeName": lambda event: _param_text(event, "creative_name"),
    "itemPromotionCreativeSlot": lambda event: _param_text(event, "creative_slot"),
    "itemPromotionId": lambda event: _param_text(event, "promotion_id"),
    "itemPromotionName": lambda event: _param_text(event, "promotion_name"),
    "linkUrl": lambda event: _param_text(event, "link_url"),
    "pageLocation": lambda event: _param_text(event, "page_location"),
    "pagePath": _page_path,
}


@functools.cache
def _event_getter(name: str) -> Callable[[EmulatedEvent], str]:
    if name.startswith(CUSTOM_PREFIX):
        param = name.removeprefix(CUSTOM_PREFIX)
        return lambda event: _param_text(event, param)
    return _EVENT_DIMENSIONS[name]


@attrs.define
class _Group:
    """Running totals for one row of an events report."""

    event_count: int = 0
    users: set[str] = attrs.field(factory=set)
    sums: dict[str, int | float] = attrs.field(factory=dict)
    promotion_views: int = 0
    promotion_clicks: int = 0

    def add(self, event: EmulatedEvent, summed_params: Sequence[str]) -> None:
        self.event_count += 1
        self.users.add(event.user_id)
        if event.event_name == "view_promotion":
            self.promotion_views += 1
        elif event.event_name == "select_promotion":
            self.promotion_clicks += 1
        for param in summed_params:
            value = event.param(param)
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    continue
            if value is not None:
                self.sums[param] = self.sums.get(param, 0) + value

    def merge(self, other: _Group) -> None:
        self.event_count += other.event_count
        self.users |= other.users
        self.promotion_views += other.promotion_views
        self.promotion_clicks += other.promotion_clicks
        for param, value in other.sums.items():
            self.sums[param] = self.sums.get(param, 0) + value

    def metric(self, name: str) -> int | float:
        if name == "eventCount":
            return self.event_count
        if name in ("totalUsers", "activeUsers"):
            return len(self.users)
        if name == "eventCountPerUser":
            return self.event_count / len(self.users) if self.users else 0.0
        if name == "itemsViewedInPromotion":
            return self.promotion_views
        if name == "itemsClickedInPromotion":
            return self.promotion_clicks
        return self.sums.get(name.removeprefix(CUSTOM_PREFIX), 0)


def _group_events(
    events: Iterable[EmulatedEvent],
    dimensions: Sequence[str],
    metrics: Sequence[str],
    date_ranges: Sequence[tuple[str, datetime.date, datetime.date]],
    keep: Callable[[EmulatedEvent], bool] | None,
) -> dict[tuple[str, ...], _Group]:
    getters = [
        None if name == "dateRange" else _event_getter(name) for name in dimensions
    ]
    summed = [
        m.removeprefix(CUSTOM_PREFIX) for m in metrics if m.startswith(CUSTOM_PREFIX)
    ]
    groups: dict[tuple[str, ...], _Group] = {}
    for event in events:
        if keep is not None and not keep(event):
            continue
        for range_name, first_day, last_day in date_ranges:
            if not first_day <= event.date <= last_day:
                continue
            key = tuple(
                range_name if getter is None else getter(event) for getter in getters
            )
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group()
            group.add(event, summed)
    return groups


def _collapse_into_other(
    groups: dict[tuple[str, ...], _Group], keep_rows: int, rank_metric: str | None
) -> dict[tuple[str, ...], _Group]:
    ranked = sorted(groups.items(), key=lambda item: item[0])
    if rank_metric is not None:
        ranked.sort(key=lambda item: item[1].metric(rank_metric), reverse=True)
    kept = dict(ranked[:keep_rows])
    other = _Group()
    for _, group in ranked[keep_rows:]:
        other.merge(group)
    width = len(next(iter(groups)))
    kept[(OTHER,) * width] = other
    return kept


# --- the report --------------------------------------------------------------------


@attrs.frozen
class _Columns:
    """How the request's columns map onto the data."""

    dimensions: list[str]
    metrics: list[str]
    metric_types: list[str]


def _aggregations(request: ProtoMessage) -> set[int]:
    return {int(aggregation) for aggregation in request.metric_aggregations}


def _page_bounds(request: ProtoMessage) -> tuple[int, int]:
    if request.offset < 0:
        raise invalid(f"offset must be >= 0, got {request.offset}.")
    if request.limit < 0:
        raise invalid(f"limit must be >= 0, got {request.limit}.")
    limit = request.limit or DEFAULT_LIMIT
    return request.offset, min(limit, MAX_LIMIT)


def _sort_rows(
    rows: list[Row],
    request: ProtoMessage,
    columns: _Columns,
    tie_seed: int | None,
) -> None:
    if tie_seed is None:
        rows.sort(key=lambda row: row[0])
    else:
        random.Random(tie_seed).shuffle(rows)  # noqa: S311 - test data, not secrets

    keys: list[tuple[Callable[[Row], Any], bool]] = []
    for order_by in request.order_bys:
        kind = order_by.WhichOneof("one_order_by")
        if kind == "dimension":
            name = order_by.dimension.dimension_name
            if name not in columns.dimensions:
                raise invalid(f"orderBys dimension {name} is not in dimensions.")
            keys.append(
                (
                    _dimension_key(
                        columns.dimensions.index(name), order_by.dimension.order_type
                    ),
                    order_by.desc,
                )
            )
        elif kind == "metric":
            name = order_by.metric.metric_name
            if name not in columns.metrics:
                raise invalid(f"orderBys metric {name} is not in metrics.")
            keys.append((_metric_key(columns.metrics.index(name)), order_by.desc))
        else:
            raise invalid(
                "The GA4 emulator supports dimension and metric orderBys only."
            )
    if not keys and columns.metrics:
        keys.append((_metric_key(0), True))

    for key, descending in reversed(keys):
        rows.sort(key=key, reverse=descending)


def _metric_key(index: int) -> Callable[[Row], float]:
    return lambda row: _as_number(row[1][index])


def _dimension_key(index: int, order_type: int) -> Callable[[Row], Any]:
    if order_type == _CASE_INSENSITIVE_ALPHANUMERIC:
        return lambda row: row[0][index].lower()
    if order_type == _NUMERIC:

        def numeric(row: Row) -> tuple[int, float, str]:
            text = row[0][index]
            try:
                return (0, float(text), text)
            except ValueError:
                return (1, 0.0, text)

        return numeric
    return lambda row: row[0][index]


def _format_rows(rows: Iterable[Row]) -> list[FormattedRow]:
    return [
        (dims, tuple([v if type(v) is str else format_number(v) for v in values]))
        for dims, values in rows
    ]


def _projection(
    dimension_index: Sequence[int], metric_index: Sequence[int], metric_width: int
) -> Callable[[Sequence[Any]], Row]:
    """Reorders a table row into the request's column order, cheaply when it can."""
    same_dimensions = list(dimension_index) == sorted(dimension_index)
    same_metrics = list(metric_index) == list(range(metric_width))
    if same_dimensions and same_metrics:
        return lambda row: (tuple(row[0]), tuple(row[1]))

    def pick(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        if len(indexes) == 1:
            only = indexes[0]
            return lambda values: (values[only],)
        getter: Callable[[Sequence[Any]], tuple[Any, ...]] = operator.itemgetter(
            *indexes
        )
        return getter

    pick_dimensions = pick(dimension_index) if dimension_index else lambda _: ()
    pick_metrics = pick(metric_index) if metric_index else lambda _: ()
    return lambda row: (pick_dimensions(row[0]), pick_metrics(row[1]))


def run_report(request: ProtoMessage, config: ReportConfig) -> ReportResult:
    """Answer one RunReportRequest from events or a table."""
    if request.HasField("cohort_spec") or len(request.comparisons):
        raise invalid("The GA4 emulator does not support cohortSpec or comparisons.")
    dimensions, metrics = _requested_names(request)
    page_bounds = _page_bounds(request)
    report = _event_report if config.table is None else _table_report
    return report(
        request,
        config=config,
        dimensions=dimensions,
        metrics=metrics,
        page_bounds=page_bounds,
    )


def _event_report(
    request: ProtoMessage,
    *,
    config: ReportConfig,
    dimensions: list[str],
    metrics: list[str],
    page_bounds: tuple[int, int],
) -> ReportResult:
    date_ranges = resolve_date_ranges(request, config.today, required=True)
    if len(date_ranges) > 1 and "dateRange" not in dimensions:
        dimensions.append("dateRange")
    for name in dimensions:
        if not _is_event_dimension(name, config):
            raise not_a_valid(name, "dimension")
    metric_types = []
    for name in metrics:
        metric_type = event_metric_type(name, config)
        if metric_type is None:
            raise not_a_valid(name, "metric")
        metric_types.append(metric_type)
    columns = _Columns(dimensions, metrics, metric_types)

    keep = _event_filter(request, config)
    groups = _group_events(config.events, dimensions, metrics, date_ranges, keep)
    if request.HasField("metric_filter"):
        metric_predicate = compile_filter(
            request.metric_filter, _metric_checker(metrics)
        )
        groups = {
            key: group
            for key, group in groups.items()
            if metric_predicate(group.metric)
        }
    cap = config.max_rows_before_other
    data_loss = cap is not None and len(groups) > cap
    if cap is not None and data_loss:
        groups = _collapse_into_other(groups, cap, metrics[0] if metrics else None)

    rows: list[Row] = [
        (key, tuple(group.metric(name) for name in metrics))
        for key, group in groups.items()
    ]
    _sort_rows(rows, request, columns, config.tie_seed)
    offset, limit = page_bounds
    page = [] if config.empty_page else rows[offset : offset + limit]

    totals, maximums, minimums = _event_aggregations(request, columns, groups, rows)
    return ReportResult(
        dimension_names=tuple(dimensions),
        metric_headers=tuple(zip(metrics, metric_types, strict=True)),
        rows=_format_rows(page),
        row_count=len(rows),
        totals=totals,
        maximums=maximums,
        minimums=minimums,
        data_loss_from_other_row=data_loss,
    )


def _event_filter(
    request: ProtoMessage, config: ReportConfig
) -> Callable[[EmulatedEvent], bool] | None:
    if not request.HasField("dimension_filter"):
        return None

    def check_dimension(field: str) -> None:
        if field == "dateRange" or not _is_event_dimension(field, config):
            raise not_a_valid(field, "dimension")

    predicate = compile_filter(request.dimension_filter, check_dimension)

    def keep(event: EmulatedEvent) -> bool:
        return predicate(lambda field: _event_getter(field)(event))

    return keep


def _metric_checker(metrics: Sequence[str]) -> Callable[[str], None]:
    def check(field: str) -> None:
        if field not in metrics:
            raise invalid(
                f"metricFilter field {field} must be one of the requested metrics."
            )

    return check


def _event_aggregations(
    request: ProtoMessage,
    columns: _Columns,
    groups: Mapping[tuple[str, ...], _Group],
    rows: Sequence[Row],
) -> tuple[list[FormattedRow], list[FormattedRow], list[FormattedRow]]:
    wanted = _aggregations(request)
    width = len(columns.dimensions)
    totals: list[FormattedRow] = []
    maximums: list[FormattedRow] = []
    minimums: list[FormattedRow] = []
    if _TOTAL in wanted:
        everything = _Group()
        for group in groups.values():
            everything.merge(group)
        values = tuple(format_number(everything.metric(m)) for m in columns.metrics)
        totals.append((("RESERVED_TOTAL",) * width, values))
    for code, label, pick, target in (
        (_MAXIMUM, "RESERVED_MAX", max, maximums),
        (_MINIMUM, "RESERVED_MIN", min, minimums),
    ):
        if code in wanted and rows:
            values = tuple(
                format_number(pick(_as_number(row[1][i]) for row in rows))
                for i in range(len(columns.metrics))
            )
            target.append(((label,) * width, values))
    return totals, maximums, minimums


# --- tables ------------------------------------------------------------------------


def _table_report(
    request: ProtoMessage,
    *,
    config: ReportConfig,
    dimensions: list[str],
    metrics: list[str],
    page_bounds: tuple[int, int],
) -> ReportResult:
    table = config.table
    if table is None:
        raise ValueError("a table report needs config.table")
    resolve_date_ranges(request, config.today, required=False)
    offset, limit = page_bounds
    table_metrics = dict(table.metrics)
    for name in dimensions:
        if name not in table.dimensions:
            raise _not_in_table(name, "dimension", table.dimensions)
    if sorted(dimensions) != sorted(table.dimensions):
        raise invalid(
            f"The emulated report table has dimensions {list(table.dimensions)}; "
            f"ask for all of them (in any order), not {dimensions}."
        )
    for name in metrics:
        if name not in table_metrics:
            raise _not_in_table(name, "metric", tuple(table_metrics))

    dimension_index = [table.dimensions.index(name) for name in dimensions]
    metric_names = [name for name, _ in table.metrics]
    metric_index = [metric_names.index(name) for name in metrics]
    columns = _Columns(dimensions, metrics, [table_metrics[m] for m in metrics])

    project = _projection(dimension_index, metric_index, len(metric_names))

    keep = _table_filter(request, table, dimensions, metrics)
    if callable(table.rows):
        page, row_count = _stream_rows(table, project, keep, offset, limit)
    else:
        rows = [project(row) for row in table.rows]
        if keep is not None:
            rows = [row for row in rows if keep(row)]
        _sort_rows(rows, request, columns, config.tie_seed)
        page, row_count = rows[offset : offset + limit], len(rows)

    return ReportResult(
        dimension_names=tuple(dimensions),
        metric_headers=tuple(zip(metrics, columns.metric_types, strict=True)),
        rows=[] if config.empty_page else _format_rows(page),
        row_count=row_count,
    )


def _not_in_table(name: str, kind: str, available: Sequence[str]) -> RpcError:
    if name.startswith(CUSTOM_PREFIX) or (
        name not in STANDARD_DIMENSIONS and name not in STANDARD_METRICS
    ):
        return not_a_valid(name, kind)
    return invalid(
        f"The emulated report table has no {kind} {name}; it has {list(available)}."
    )


def _table_filter(
    request: ProtoMessage,
    table: ReportTable,
    dimensions: Sequence[str],
    metrics: Sequence[str],
) -> Callable[[Row], bool] | None:
    checks: list[Callable[[Row], bool]] = []
    if request.HasField("dimension_filter"):

        def check_dimension(field: str) -> None:
            if field not in table.dimensions:
                raise _not_in_table(field, "dimension", table.dimensions)

        dimension_predicate = compile_filter(request.dimension_filter, check_dimension)
        names = list(dimensions)

        def by_dimensions(row: Row) -> bool:
            return dimension_predicate(lambda f: row[0][names.index(f)])

        checks.append(by_dimensions)
    if request.HasField("metric_filter"):
        metric_predicate = compile_filter(
            request.metric_filter, _metric_checker(metrics)
        )
        requested = list(metrics)

        def by_metrics(row: Row) -> bool:
            return metric_predicate(lambda f: row[1][requested.index(f)])

        checks.append(by_metrics)
    if not checks:
        return None
    return lambda row: all(check(row) for check in checks)


def _stream_rows(
    table: ReportTable,
    project: Callable[[Sequence[Any]], Row],
    keep: Callable[[Row], bool] | None,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """Page through a function-backed table without holding it in memory."""
    if keep is None:
        stop = min(offset + limit, table.row_count)
        return [project(table.row(i)) for i in range(offset, stop)], table.row_count

    matching: Iterator[Row] = (
        row
        for row in (project(table.row(i)) for i in range(table.row_count))
        if keep(row)
    )
    page: list[Row] = []
    row_count = 0
    for row in matching:
        if offset <= row_count < offset + limit:
            page.append(row)
        row_count += 1
    return page, row_count
