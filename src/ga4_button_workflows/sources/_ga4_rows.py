"""The one parsing path for GA4 report pages: live protobuf and saved JSON.

Both :class:`~ga4_button_workflows.sources.ga4.GA4DataSource` (raw protobuf
``RunReportResponse`` messages) and
:class:`~ga4_button_workflows.sources.report_file.ReportFileSource` (the REST
JSON of ``runReport`` / ``batchRunReports``) fold their pages here, into one
:class:`~ga4_button_workflows.aggregate.ReportBuilder`. Columns are found by
the response's headers, never by position, and every metric value is parsed
by its header's type.

Rows are read from the raw protobuf messages, not the proto-plus wrappers the
client hands out: wrapping every row and value costs about fifteen times more
than the folding itself.
"""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from ga4_button_workflows.aggregate import (
    MAX_DAILY_ENTRIES,
    DailyBuilder,
    ReportBuilder,
    largest_pairs,
)
from ga4_button_workflows.models import (
    DailyCounts,
    EventRole,
    EventSchema,
)
from ga4_button_workflows.sources._ga4_errors import GA4DataError

__all__ = [
    "DURATION_METRIC_TYPES",
    "MAX_DAILY_ENTRIES",
    "METRIC_TYPE_NAMES",
    "OTHER",
    "UNITLESS_METRIC_TYPES",
    "DailyCountsFolder",
    "PageSummary",
    "QuotaSnapshot",
    "ReportFolder",
    "ReportLayout",
    "count_metric",
    "largest_pairs",
    "parse_ga4_date",
    "parse_metric_value",
    "raw_message",
]

ProtoMessage: TypeAlias = Any
"""A raw protobuf message; the generated classes have no type stubs."""
JsonObject: TypeAlias = Mapping[str, Any]

OTHER = "(other)"
"""GA4's value for rows it merged because the report had too many."""

METRIC_TYPE_NAMES: Mapping[int, str] = {
    0: "METRIC_TYPE_UNSPECIFIED",
    1: "TYPE_INTEGER",
    2: "TYPE_FLOAT",
    4: "TYPE_SECONDS",
    5: "TYPE_MILLISECONDS",
    6: "TYPE_MINUTES",
    7: "TYPE_HOURS",
    8: "TYPE_STANDARD",
    9: "TYPE_CURRENCY",
    10: "TYPE_FEET",
    11: "TYPE_MILES",
    12: "TYPE_METERS",
    13: "TYPE_KILOMETERS",
}
"""``MetricType`` enum numbers (protobuf) to their names (REST JSON)."""

DURATION_METRIC_TYPES: Mapping[str, float] = {
    "TYPE_MILLISECONDS": 1.0,
    "TYPE_SECONDS": 1_000.0,
    "TYPE_MINUTES": 60_000.0,
    "TYPE_HOURS": 3_600_000.0,
}
"""Duration metric types and the factor that turns a value into milliseconds."""

UNITLESS_METRIC_TYPES = frozenset(
    {"METRIC_TYPE_UNSPECIFIED", "TYPE_INTEGER", "TYPE_FLOAT", "TYPE_STANDARD"}
)
"""Types a duration metric may carry when it was registered without a unit; the
values are then the event parameter's own, milliseconds."""
_USER_METRICS = ("totalUsers", "activeUsers")
_DAY_DIMENSIONS = frozenset({"date", "dateRange"})


def raw_message(response: Any) -> ProtoMessage:
    """Return the raw protobuf message behind a proto-plus wrapper (or itself)."""
    to_pb = getattr(type(response), "pb", None)
    if callable(to_pb) and hasattr(response, "_pb"):
        return to_pb(response)
    return response


def count_metric(event_name: str, schema: EventSchema) -> str:
    """Return the metric that counts ``event_name`` under ``schema``."""
    rule = schema.rule_for(event_name)
    if rule is None or rule.count_metric is None:
        return "eventCount"
    return rule.count_metric


MAX_GA4_NUMBER = 2**63 - 1
"""The largest value GA4 can send: its counts are 64-bit integers."""


def _json_int(value: object, field: str) -> int:
    """A whole-number field of a saved GA4 response, or a data error naming it."""
    try:
        number = int(str(value or 0))
    except ValueError:
        raise GA4DataError(
            f"the GA4 report's {field} is {value!r}, not a whole number; the "
            "file is not a GA4 Data API response or was edited"
        ) from None
    if not 0 <= number <= MAX_GA4_NUMBER:
        raise GA4DataError(
            f"the GA4 report's {field} is {value!r}, outside GA4's range of "
            "0 to 2**63 - 1; the file is not a GA4 Data API response or was edited"
        )
    return number


def parse_metric_value(
    text: str, *, metric: str, metric_type: str, row: int
) -> int | float:
    """Parse one GA4 metric value, a decimal string such as ``"12"`` or ``"1.5e3"``.

    Whole numbers come back as ``int`` whatever their spelling (``"12.0"``,
    ``"1.5e3"``); a fractional value stays a ``float`` for the caller to keep
    or to note.

    Args:
        text: The value as GA4 sent it.
        metric: The metric's API name, for the error message.
        metric_type: The header's metric type name, for the error message.
        row: The 1-based row of the report, for the error message.

    Raises:
        GA4DataError: the value is not a finite number (``"NaN"``, ``"inf"``,
            ``""``, garbage).
    """
    try:
        whole = int(text)
    except ValueError:
        pass
    else:
        if abs(whole) <= MAX_GA4_NUMBER:
            return whole
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > MAX_GA4_NUMBER:
        raise GA4DataError(
            f"GA4 sent {text!r} for the metric {metric} ({metric_type}) on row "
            f"{row}, which is not a finite number within GA4's 64-bit range; the "
            "report cannot be trusted. If it came from GA4, run the analysis "
            "again, and if GA4 keeps sending it, check how the metric is defined "
            "in the property; a saved file may have been edited."
        )
    if number.is_integer():
        return int(number)
    return number


def parse_ga4_date(text: str) -> datetime.date | None:
    """Parse a ``date`` dimension value (``YYYYMMDD``); None for ``(other)`` or junk.

    GA4 may merge days into ``(other)`` when a report has too many rows, so a
    value that is not a date is data, not an error.
    """
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


@attrs.frozen(kw_only=True)
class QuotaSnapshot:
    """The property quota GA4 reported with a page (``returnPropertyQuota``)."""

    tokens_per_day: int | None = None
    """Core tokens left today."""
    tokens_per_hour: int | None = None
    """Core tokens left this hour."""
    tokens_per_project_per_hour: int | None = None
    """Core tokens left this hour for this Google Cloud project."""
    concurrent_requests: int | None = None
    """Requests that may still run at once."""
    tokens_consumed: int = 0
    """Tokens the page cost."""

    @property
    def lowest_tokens(self) -> int | None:
        """The smallest token balance of the three buckets, None if none told."""
        balances = [
            value
            for value in (
                self.tokens_per_day,
                self.tokens_per_hour,
                self.tokens_per_project_per_hour,
            )
            if value is not None
        ]
        return min(balances) if balances else None


@attrs.frozen(kw_only=True)
class PageSummary:
    """What one folded page told about the report."""

    rows: int
    """Rows in the page."""
    row_count: int
    """GA4's ``rowCount``: rows in the whole report (0 when left out)."""
    quota: QuotaSnapshot | None = None
    """The property quota, when the request asked for it."""


@attrs.frozen(kw_only=True)
class ReportLayout:
    """Where the schema's columns are in one response, found by header name."""

    dimensions: tuple[str, ...]
    """The response's dimension names, in column order."""
    metrics: tuple[tuple[str, str], ...]
    """The response's (metric name, metric type name), in column order."""
    event_index: int
    """Column of ``eventName``."""
    button_index: int | None
    """Column of the schema's button dimension; None when it has none."""
    variant_index: int | None
    """Column of the schema's variant dimension; None when it has none."""
    date_index: int | None
    """Column of ``date``, present in daily reports only."""
    users_index: int
    """Column of ``totalUsers`` (or ``activeUsers``)."""
    count_indexes: Mapping[str, int]
    """Column of the counting metric, per schema event name."""
    default_count_index: int
    """Column counting events the schema does not name."""
    duration_index: int | None
    """Column of the schema's duration metric; None when it has none."""
    duration_to_ms: float = 1.0
    """Factor that turns the duration column into milliseconds."""
    split_dimensions: tuple[str, ...] = ()
    """Dimensions beyond event, button and variant, which split user counts."""

    @classmethod
    def from_headers(
        cls,
        dimensions: Sequence[str],
        metrics: Sequence[tuple[str, str]],
        schema: EventSchema,
    ) -> ReportLayout:
        """Locate the schema's columns in a response's headers.

        Raises:
            GA4DataError: a column the schema reads is missing, or the
                duration metric has a type that is not a duration.
        """
        dimension_names = list(dimensions)
        metric_names = [name for name, _ in metrics]

        def dimension(name: str | None) -> int | None:
            if name is None:
                return None
            if name not in dimension_names:
                raise _missing("dimension", name, dimension_names, schema)
            return dimension_names.index(name)

        def metric(name: str) -> int:
            if name not in metric_names:
                raise _missing("metric", name, metric_names, schema)
            return metric_names.index(name)

        event_index = dimension("eventName")
        if event_index is None:  # pragma: no cover - "eventName" is never None
            raise AssertionError
        users = next((name for name in _USER_METRICS if name in metric_names), None)
        users_index = metric(users or "totalUsers")
        count_indexes = {
            rule.event_name: metric(rule.count_metric or "eventCount")
            for rule in schema.rules
        }
        default_count_index = (
            metric_names.index("eventCount")
            if "eventCount" in metric_names
            else next(iter(count_indexes.values()), 0)
        )

        duration_index = None
        duration_to_ms = 1.0
        if schema.duration_metric is not None:
            duration_index = metric(schema.duration_metric)
            duration_type = metrics[duration_index][1]
            duration_to_ms = _duration_factor(schema.duration_metric, duration_type)

        known = {"eventName", schema.button_dimension, schema.variant_dimension}
        return cls(
            dimensions=tuple(dimension_names),
            metrics=tuple(metrics),
            event_index=event_index,
            button_index=dimension(schema.button_dimension),
            variant_index=dimension(schema.variant_dimension),
            date_index=(
                dimension_names.index("date") if "date" in dimension_names else None
            ),
            users_index=users_index,
            count_indexes=count_indexes,
            default_count_index=default_count_index,
            duration_index=duration_index,
            duration_to_ms=duration_to_ms,
            split_dimensions=tuple(d for d in dimension_names if d not in known),
        )


def _missing(
    kind: str, name: str, present: Sequence[str], schema: EventSchema
) -> GA4DataError:
    listed = ", ".join(present) or "none"
    return GA4DataError(
        f"the GA4 report has no {kind} {name}, which the event schema "
        f"{schema.name!r} reads (its {kind}s: {listed}); ask GA4 for the "
        "schema's dimensions and metrics, or pick the schema that matches the "
        "report"
    )


def _duration_factor(metric: str, metric_type: str) -> float:
    factor = DURATION_METRIC_TYPES.get(metric_type)
    if factor is not None:
        return factor
    if metric_type in UNITLESS_METRIC_TYPES:
        return 1.0
    raise GA4DataError(
        f"the duration metric {metric} has the type {metric_type}, which is not a "
        "duration; register the hover-duration parameter as a custom metric "
        "with the unit Milliseconds (or Seconds)"
    )


# --- folding into the button report ----------------------------------------------


_FRACTIONAL_NOTE = (
    "GA4 sent fractional values for the whole-number metric {metric}; they "
    "were rounded to whole counts"
)
_OTHER_NOTE = (
    "GA4 merged rows it could not list into an '(other)' row; those events "
    "are not credited to any button"
)
_SPLIT_NOTE = (
    "the report splits rows by {dimensions}; user counts were added across "
    "them, so they are upper bounds (ask GA4 without those dimensions for "
    "exact users)"
)


class ReportFolder:
    """Folds GA4 report pages into a :class:`ReportBuilder`, page by page.

    Memory stays with the builder's button x variant entries; a page's rows
    are read once and dropped.

    Args:
        builder: Where the rows go.
        schema: Which events and columns mean what (the builder's schema).
    """

    def __init__(self, builder: ReportBuilder, schema: EventSchema) -> None:
        self._builder = builder
        self._schema = schema
        self._layouts: dict[tuple[Any, ...], ReportLayout] = {}

    @property
    def builder(self) -> ReportBuilder:
        """The builder the rows are folded into."""
        return self._builder

    def fold_pb(self, response: Any, *, first_row: int = 1) -> PageSummary:
        """Fold one ``RunReportResponse`` page, proto-plus or raw protobuf.

        Args:
            response: The page.
            first_row: The report's 1-based number of the page's first row
                (``offset + 1``), for error messages.

        Raises:
            GA4DataError: a value or the report's shape cannot be trusted.
        """
        raw = raw_message(response)
        layout = self._layout(
            tuple(header.name for header in raw.dimension_headers),
            tuple(
                (header.name, METRIC_TYPE_NAMES.get(header.type_, "TYPE_STANDARD"))
                for header in raw.metric_headers
            ),
        )
        _apply_metadata(self._builder, _pb_metadata(raw.metadata))
        rows = raw.rows
        self._fold_pb_rows(rows, layout, first_row)
        self._builder.pages_fetched += 1
        return PageSummary(
            rows=len(rows),
            row_count=int(raw.row_count),
            quota=(
                _pb_quota(raw.property_quota)
                if raw.HasField("property_quota")
                else None
            ),
        )

    def fold_json(self, report: JsonObject, *, first_row: int = 1) -> PageSummary:
        """Fold one ``RunReportResponse`` in its REST JSON form (camelCase).

        Raises:
            GA4DataError: a value or the report's shape cannot be trusted.
        """
        layout = self._layout(
            tuple(
                header.get("name", "") for header in report.get("dimensionHeaders", ())
            ),
            tuple(
                (header.get("name", ""), _json_metric_type(header.get("type")))
                for header in report.get("metricHeaders", ())
            ),
        )
        _apply_metadata(self._builder, _json_metadata(report.get("metadata") or {}))
        rows = report.get("rows") or ()
        self._fold_json_rows(rows, layout, first_row)
        self._builder.pages_fetched += 1
        quota = report.get("propertyQuota")
        return PageSummary(
            rows=len(rows),
            row_count=_json_int(report.get("rowCount"), "rowCount"),
            quota=_json_quota(quota) if quota else None,
        )

    def _layout(
        self, dimensions: tuple[str, ...], metrics: tuple[tuple[str, str], ...]
    ) -> ReportLayout:
        key = (dimensions, metrics)
        layout = self._layouts.get(key)
        if layout is None:
            layout = ReportLayout.from_headers(dimensions, metrics, self._schema)
            self._layouts[key] = layout
            if layout.split_dimensions:
                self._builder.note(
                    _SPLIT_NOTE.format(dimensions=", ".join(layout.split_dimensions))
                )
        return layout

    def _fold_pb_rows(  # noqa: PLR0915 - one hot loop, kept whole for speed
        self, rows: Iterable[Any], layout: ReportLayout, first_row: int
    ) -> None:
        add_row = self._builder.add_row
        has_button = layout.button_index is not None
        has_variant = layout.variant_index is not None
        has_duration = layout.duration_index is not None
        event_at = layout.event_index
        # One C-level call picks the row's cells; absent columns re-pick eventName.
        pick_dimensions = operator.itemgetter(
            event_at,
            event_at if layout.button_index is None else layout.button_index,
            event_at if layout.variant_index is None else layout.variant_index,
        )
        count_columns = set(layout.count_indexes.values()) | {
            layout.default_count_index
        }
        shared_count_at = count_columns.pop() if len(count_columns) == 1 else None
        count_at = layout.count_indexes
        default_count_at = layout.default_count_index
        users_at = layout.users_index
        duration_at = (
            users_at if layout.duration_index is None else layout.duration_index
        )
        pick_metrics = operator.itemgetter(
            default_count_at if shared_count_at is None else shared_count_at,
            users_at,
            duration_at,
        )
        to_ms = layout.duration_to_ms
        button: str | None = None
        variant: str | None = None
        duration: float | None = None
        number = first_row - 1
        try:
            for number, row in enumerate(rows, first_row):
                event_cell, button_cell, variant_cell = pick_dimensions(
                    row.dimension_values
                )
                event = event_cell.value
                if has_button:
                    button = button_cell.value
                if has_variant:
                    variant = variant_cell.value
                if OTHER in (event, button, variant):
                    self._other_row()
                    if event == OTHER:
                        self._builder.rows_read += 1
                        continue

                metric_values = row.metric_values
                count_cell, users_cell, duration_cell = pick_metrics(metric_values)
                if shared_count_at is None:
                    count_cell = metric_values[count_at.get(event, default_count_at)]
                text = count_cell.value
                try:
                    events = int(text)
                except ValueError:
                    events = self._whole_text(
                        text,
                        layout,
                        count_at.get(event, default_count_at),
                        number,
                    )
                text = users_cell.value
                try:
                    users = int(text)
                except ValueError:
                    users = self._whole_text(text, layout, users_at, number)
                if has_duration:
                    text = duration_cell.value
                    try:
                        duration = int(text) * to_ms
                    except ValueError:
                        duration = to_ms * self._number(
                            text, layout, duration_at, number
                        )

                add_row(
                    event_name=event,
                    button=button,
                    variant=variant,
                    event_count=events,
                    users=users,
                    duration_ms=duration,
                )
        except (ValueError, OverflowError) as error:
            raise GA4DataError(f"row {number} of the GA4 report: {error}") from None

    def _fold_json_rows(
        self, rows: Iterable[JsonObject], layout: ReportLayout, first_row: int
    ) -> None:
        add_row = self._builder.add_row
        number = first_row - 1
        try:
            for number, row in enumerate(rows, first_row):
                dimensions = [_json_value(cell) for cell in row["dimensionValues"]]
                metrics = [_json_value(cell) for cell in row["metricValues"]]
                event = dimensions[layout.event_index]
                button = _cell(dimensions, layout.button_index)
                variant = _cell(dimensions, layout.variant_index)
                if OTHER in (event, button, variant):
                    self._other_row()
                    if event == OTHER:
                        self._builder.rows_read += 1
                        continue

                column = layout.count_indexes.get(event, layout.default_count_index)
                duration = None
                if layout.duration_index is not None:
                    duration = layout.duration_to_ms * self._number(
                        metrics[layout.duration_index],
                        layout,
                        layout.duration_index,
                        number,
                    )
                add_row(
                    event_name=event,
                    button=button,
                    variant=variant,
                    event_count=self._whole_at(metrics, layout, column, number),
                    users=self._whole_at(metrics, layout, layout.users_index, number),
                    duration_ms=duration,
                )
        except (ValueError, OverflowError) as error:
            raise GA4DataError(f"row {number} of the GA4 report: {error}") from None
        except (IndexError, KeyError, TypeError) as error:
            raise GA4DataError(
                f"row {number} of the saved GA4 report does not match its headers "
                f"({type(error).__name__}: {error})"
            ) from None

    def _whole_at(
        self, metrics: Sequence[str], layout: ReportLayout, column: int, row: int
    ) -> int:
        text = metrics[column]
        try:
            return int(text)
        except ValueError:
            return self._whole_text(text, layout, column, row)

    def _whole_text(
        self, text: str, layout: ReportLayout, column: int, row: int
    ) -> int:
        metric, metric_type = layout.metrics[column]
        value = parse_metric_value(
            text, metric=metric, metric_type=metric_type, row=row
        )
        if isinstance(value, float):
            self._builder.note(_FRACTIONAL_NOTE.format(metric=metric))
            return round(value)
        return value

    def _number(self, text: str, layout: ReportLayout, column: int, row: int) -> float:
        metric, metric_type = layout.metrics[column]
        return float(
            parse_metric_value(text, metric=metric, metric_type=metric_type, row=row)
        )

    def _other_row(self) -> None:
        if not self._builder.quality.other_row:
            self._builder.quality = attrs.evolve(self._builder.quality, other_row=True)
        self._builder.note(_OTHER_NOTE)


# --- daily counts, for trends ------------------------------------------------------


class DailyCountsFolder:
    """Folds daily GA4 report pages (with a ``date`` dimension) into day counts.

    Only exposures and clicks are kept per day, the inputs of click-through
    trends. Users are the day's own (GA4's ``totalUsers`` of that day's row)
    and are never added across days.

    Args:
        schema: Which events and columns mean what.
    """

    def __init__(self, schema: EventSchema) -> None:
        self._schema = schema
        self._days: dict[str, datetime.date | None] = {}
        self._other_days = 0
        self.builder = DailyBuilder(schema)
        """Where the rows go; :meth:`build` returns what it holds."""
        self.rows_read = 0
        self.pages_fetched = 0

    def fold_pb(self, response: Any, *, first_row: int = 1) -> PageSummary:
        """Fold one daily ``RunReportResponse`` page (proto-plus or raw protobuf)."""
        raw = raw_message(response)
        layout = self._layout(
            tuple(header.name for header in raw.dimension_headers),
            tuple(
                (header.name, METRIC_TYPE_NAMES.get(header.type_, "TYPE_STANDARD"))
                for header in raw.metric_headers
            ),
        )
        self._fold(
            (
                (
                    [cell.value for cell in row.dimension_values],
                    [cell.value for cell in row.metric_values],
                )
                for row in raw.rows
            ),
            layout,
            first_row,
        )
        self.pages_fetched += 1
        return PageSummary(
            rows=len(raw.rows),
            row_count=int(raw.row_count),
            quota=(
                _pb_quota(raw.property_quota)
                if raw.HasField("property_quota")
                else None
            ),
        )

    def fold_json(self, report: JsonObject, *, first_row: int = 1) -> PageSummary:
        """Fold one daily ``RunReportResponse`` in its REST JSON form."""
        layout = self._layout(
            tuple(h.get("name", "") for h in report.get("dimensionHeaders", ())),
            tuple(
                (h.get("name", ""), _json_metric_type(h.get("type")))
                for h in report.get("metricHeaders", ())
            ),
        )
        rows = report.get("rows") or ()
        self._fold(
            (
                (
                    [_json_value(cell) for cell in row.get("dimensionValues", ())],
                    [_json_value(cell) for cell in row.get("metricValues", ())],
                )
                for row in rows
            ),
            layout,
            first_row,
        )
        self.pages_fetched += 1
        return PageSummary(
            rows=len(rows), row_count=_json_int(report.get("rowCount"), "rowCount")
        )

    def _layout(
        self, dimensions: tuple[str, ...], metrics: tuple[tuple[str, str], ...]
    ) -> ReportLayout:
        layout = ReportLayout.from_headers(dimensions, metrics, self._schema)
        if layout.date_index is None:
            raise GA4DataError(
                "a daily GA4 report needs the date dimension; its dimensions are "
                + ", ".join(dimensions)
            )
        return layout

    def _fold(
        self,
        rows: Iterable[tuple[list[str], list[str]]],
        layout: ReportLayout,
        first_row: int,
    ) -> None:
        date_at = layout.date_index if layout.date_index is not None else 0
        for number, (dimensions, metrics) in enumerate(rows, first_row):
            self.rows_read += 1
            event_name = dimensions[layout.event_index]
            rule = self._schema.rule_for(event_name)
            if rule is None or rule.role not in (EventRole.EXPOSURE, EventRole.CLICK):
                continue
            day = self._day(dimensions[date_at])
            if day is None:
                continue
            column = layout.count_indexes[rule.event_name]
            self.builder.add_row(
                day=day,
                event_name=event_name,
                button=(
                    dimensions[layout.button_index]
                    if layout.button_index is not None
                    else None
                ),
                variant=(
                    dimensions[layout.variant_index]
                    if layout.variant_index is not None
                    else None
                ),
                event_count=_whole_number(metrics[column], layout, column, number),
                users=_whole_number(
                    metrics[layout.users_index], layout, layout.users_index, number
                ),
            )

    def _day(self, text: str) -> datetime.date | None:
        if text not in self._days:
            self._days[text] = parse_ga4_date(text)
        day = self._days[text]
        if day is None:
            self._other_days += 1
        return day

    def build(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        max_entries: int = MAX_DAILY_ENTRIES,
    ) -> tuple[tuple[DailyCounts, ...], tuple[str, ...]]:
        """Return the day counts of the given pairs, and caveats.

        As :meth:`~ga4_button_workflows.aggregate.DailyBuilder.build`, with a
        caveat when GA4 merged days into ``(other)``.
        """
        entries, notes = self.builder.build(pairs, max_entries=max_entries)
        if self._other_days:
            notes = (
                *notes,
                f"GA4 merged some days into '(other)' in {self._other_days:,} daily "
                "rows; those rows have no day and are left out of the trends",
            )
        return entries, notes


def _whole_number(text: str, layout: ReportLayout, column: int, row: int) -> int:
    metric, metric_type = layout.metrics[column]
    return round(
        parse_metric_value(text, metric=metric, metric_type=metric_type, row=row)
    )


# --- metadata and quota --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Metadata:
    thresholded: bool = False
    other_row: bool = False
    sampling_ratio: float | None = None
    time_zone: str = ""
    currency: str = ""
    empty_reason: str = ""
    truncation: tuple[str, ...] = ()


def _apply_metadata(builder: ReportBuilder, meta: _Metadata) -> None:
    quality = builder.quality
    ratio = quality.sampling_ratio
    if meta.sampling_ratio is not None:
        ratio = (
            meta.sampling_ratio if ratio is None else min(ratio, meta.sampling_ratio)
        )
    builder.quality = attrs.evolve(
        quality,
        thresholded=quality.thresholded or meta.thresholded,
        other_row=quality.other_row or meta.other_row,
        sampled=quality.sampled or meta.sampling_ratio is not None,
        sampling_ratio=ratio,
    )
    if meta.time_zone:
        builder.time_zone = meta.time_zone
    if meta.currency:
        builder.currency = meta.currency
    if meta.empty_reason:
        builder.note(f"GA4 says the report is empty because: {meta.empty_reason}")
    if meta.truncation:
        builder.note(f"GA4 truncated the report: {', '.join(meta.truncation)}")


def _sampling_ratio(pairs: Iterable[tuple[int, int]]) -> float | None:
    ratios = [read / space for read, space in pairs if space > 0 and read < space]
    return min(ratios) if ratios else None


def _pb_metadata(meta: ProtoMessage) -> _Metadata:
    truncation_enum = meta.DESCRIPTOR.fields_by_name.get("data_truncation_reasons")
    truncation: tuple[str, ...] = ()
    if truncation_enum is not None and len(meta.data_truncation_reasons):
        names = truncation_enum.enum_type.values_by_number
        truncation = tuple(
            names[number].name if number in names else str(number)
            for number in meta.data_truncation_reasons
        )
    return _Metadata(
        thresholded=meta.subject_to_thresholding,
        other_row=meta.data_loss_from_other_row,
        sampling_ratio=_sampling_ratio(
            (int(sample.samples_read_count), int(sample.sampling_space_size))
            for sample in meta.sampling_metadatas
        ),
        time_zone=meta.time_zone,
        currency=meta.currency_code,
        empty_reason=meta.empty_reason,
        truncation=truncation,
    )


def _json_metadata(meta: JsonObject) -> _Metadata:
    return _Metadata(
        thresholded=bool(meta.get("subjectToThresholding", False)),
        other_row=bool(meta.get("dataLossFromOtherRow", False)),
        sampling_ratio=_sampling_ratio(
            (
                _json_int(
                    sample.get("samplesReadCount"),
                    "metadata.samplingMetadatas[].samplesReadCount",
                ),
                _json_int(
                    sample.get("samplingSpaceSize"),
                    "metadata.samplingMetadatas[].samplingSpaceSize",
                ),
            )
            for sample in meta.get("samplingMetadatas") or ()
        ),
        time_zone=str(meta.get("timeZone") or ""),
        currency=str(meta.get("currencyCode") or ""),
        empty_reason=str(meta.get("emptyReason") or ""),
        truncation=tuple(
            str(reason) for reason in meta.get("dataTruncationReasons") or ()
        ),
    )


def _pb_quota(quota: ProtoMessage) -> QuotaSnapshot:
    def remaining(field: str) -> int | None:
        return int(getattr(quota, field).remaining) if quota.HasField(field) else None

    return QuotaSnapshot(
        tokens_per_day=remaining("tokens_per_day"),
        tokens_per_hour=remaining("tokens_per_hour"),
        tokens_per_project_per_hour=remaining("tokens_per_project_per_hour"),
        concurrent_requests=remaining("concurrent_requests"),
        tokens_consumed=int(quota.tokens_per_hour.consumed),
    )


def _json_quota(quota: JsonObject) -> QuotaSnapshot:
    def remaining(field: str) -> int | None:
        status = quota.get(field)
        # proto3 JSON leaves zeros out: a status without "remaining" has none left.
        return None if status is None else int(status.get("remaining") or 0)

    return QuotaSnapshot(
        tokens_per_day=remaining("tokensPerDay"),
        tokens_per_hour=remaining("tokensPerHour"),
        tokens_per_project_per_hour=remaining("tokensPerProjectPerHour"),
        concurrent_requests=remaining("concurrentRequests"),
        tokens_consumed=int((quota.get("tokensPerHour") or {}).get("consumed") or 0),
    )


def _json_metric_type(value: object) -> str:
    if isinstance(value, int):
        return METRIC_TYPE_NAMES.get(value, "TYPE_STANDARD")
    if isinstance(value, str) and value:
        return value
    return "TYPE_STANDARD"


def _json_value(cell: JsonObject) -> str:
    # proto3 JSON leaves empty strings out: {"value": ""} arrives as {}.
    return str(cell.get("value", ""))


def _cell(values: Sequence[str], column: int | None) -> str | None:
    return None if column is None else values[column]
