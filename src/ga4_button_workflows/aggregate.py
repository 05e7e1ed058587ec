"""Fold GA4 rows into a compact :class:`~ga4_button_workflows.models.ButtonReport`.

Every data source feeds rows through one :class:`ReportBuilder`, so a live GA4
fetch, a saved report and the bundled sample agree on what a row means. The
builder keeps one accumulator per button x variant: memory follows the number
of buttons, never the number of rows.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import math
from collections.abc import Iterable
from typing import Any

import attrs

from ga4_button_workflows._checks import FieldTypeError, FieldValueError
from ga4_button_workflows.models import (
    NOT_SET,
    PLACEHOLDER_VALUES,
    ButtonCounts,
    ButtonReport,
    DailyCounts,
    DataQuality,
    EventRole,
    EventRule,
    EventSchema,
    FetchRequest,
    Period,
    VariantExposure,
)
from ga4_button_workflows.trends import previous_period_of

__all__ = [
    "DEFAULT_MAX_BUTTONS",
    "MAX_DAILY_ENTRIES",
    "MAX_NAME_CHARS",
    "DailyBuilder",
    "ReportBuilder",
    "ReportCheckpoint",
    "check_report",
    "largest_pairs",
    "normalise_dimension_value",
    "normalise_report_names",
]

DEFAULT_MAX_BUTTONS = 25
"""Buttons kept in a report by default, ranked by click events.

With five variants that is 125 entries, which keeps every workflow payload far
below Temporal's 256 KB warning size.
"""


_MAX_IGNORED_LISTED = 10
"""Unknown event names listed in a report's caveats, at most."""

_MAX_COUNT = 2**63 - 1
"""GA4's counts are 64-bit integers; anything larger is a corrupt report."""

MAX_NAME_CHARS = 120
"""Longest button or variant name kept; longer ones are cut, ending in ``…``.

GA4 values are user-controlled text. Bounding them keeps every payload small
and every output readable.
"""

# Bidirectional embeddings, overrides and isolates: they can make a name read
# backwards in a notification or a page.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], None)
_CONTROLS = dict.fromkeys((*range(32), *range(127, 160)), " ")
_NAME_TABLE = {**_CONTROLS, **_BIDI_CONTROLS}


@functools.lru_cache(maxsize=65_536)
def normalise_dimension_value(value: str | None) -> str:
    """Return a GA4 dimension value as the library names a button or variant.

    GA4's empty string and missing values become one ``(not set)``; control
    characters become spaces, bidirectional overrides are removed, runs of
    white space collapse, and names longer than :data:`MAX_NAME_CHARS` are cut
    with ``…`` and a short digest of the whole name, so two long names stay
    two buttons. Every output still escapes the result for its own format.
    """
    if value is None:
        return NOT_SET
    cleaned = " ".join(value.translate(_NAME_TABLE).split())
    if len(cleaned) > MAX_NAME_CHARS:
        # A digest of the whole name keeps two long names that share their
        # first characters (two deep links, say) apart.
        digest = hashlib.blake2b(cleaned.encode(), digest_size=4).hexdigest()
        cleaned = f"{cleaned[: MAX_NAME_CHARS - 10]}…#{digest}"
    return cleaned or NOT_SET


def check_report(report: object, request: FetchRequest | None = None) -> ButtonReport:
    """Return ``report`` when it holds together; raise a clear error if not.

    The models refuse a count that is not a whole number from 0 to 2**63 - 1
    when they are built. This checks what spans the report: it is a
    :class:`~ga4_button_workflows.models.ButtonReport` of the property and
    period ``request`` asked for, each button x variant has one entry, its
    daily rows fall within its period, and its previous period, when it has
    one, is the equally long one just before.

    Raises:
        FieldTypeError: ``report`` is not a ``ButtonReport``.
        FieldValueError: the property, the period, a day or the previous
            period does not fit, or a button x variant comes twice.
    """
    if not isinstance(report, ButtonReport):
        raise FieldTypeError(
            f"a data source must return a ButtonReport, got "
            f"{type(report).__name__} {report!r:.200}"
        )
    if request is not None and (
        report.property_id != request.property_id or report.period != request.period
    ):
        raise FieldValueError(
            f"the report is of property {report.property_id!r} over "
            f"{report.period}, but property {request.property_id!r} over "
            f"{request.period} was asked for; report what the request asks"
        )
    for name, entries in (
        ("counts", report.counts),
        ("previous_counts", report.previous_counts),
    ):
        seen: set[tuple[str, str]] = set()
        for entry in entries:
            key = (entry.button, entry.variant)
            if key in seen:
                raise FieldValueError(
                    f"{name} holds {entry.button!r} on {entry.variant!r} more than "
                    "once; fold each button x variant into one entry "
                    "(ReportBuilder does)"
                )
            seen.add(key)
    period = report.period
    outside = [
        row for row in report.daily if not period.start <= row.date <= period.end
    ]
    if outside:
        first = outside[0]
        raise FieldValueError(
            f"{len(outside):,} daily rows fall outside the report's period {period}, "
            f"the first for {first.button!r} on {first.variant!r} on "
            f"{first.date.isoformat()}; report only the days of the period"
        )
    previous = report.previous_period
    if previous is None:
        if report.previous_counts:
            raise FieldValueError(
                "the report has previous_counts but no previous_period; set "
                "previous_period to the period they cover"
            )
        return report
    wanted = previous_period_of(period)
    if previous != wanted:
        raise FieldValueError(
            f"previous_period {previous} is not the {period.days} days just before "
            f"the period {period}; report {wanted}, or no previous period"
        )
    return report


def normalise_report_names(report: ButtonReport) -> ButtonReport:
    """Return ``report`` with every button and variant name normalised.

    The GA4 sources name buttons with :func:`normalise_dimension_value`
    already; a host's own source may not, and its names reach every output
    (alerts, summaries, the dashboard). Two different names that normalise
    alike stay apart: the later ones get ``#`` and a digest of the raw name.
    Returns ``report`` itself when every name is already normal.
    """
    raw_names = sorted(
        {report.control_variant}
        | {name for row in report.counts for name in (row.button, row.variant)}
        | {name for row in report.previous_counts for name in (row.button, row.variant)}
        | {name for row in report.daily for name in (row.button, row.variant)}
        | {row.variant for row in report.exposures}
    )
    renamed = {name: normalise_dimension_value(name) for name in raw_names}
    if all(raw == clean for raw, clean in renamed.items()):
        return report
    taken: set[str] = {clean for raw, clean in renamed.items() if raw == clean}
    for raw in raw_names:
        clean = renamed[raw]
        if raw == clean:
            continue
        if clean in taken:
            digest = hashlib.blake2b(raw.encode(), digest_size=4).hexdigest()
            clean = f"{clean[: MAX_NAME_CHARS - 10]}#{digest}"
        renamed[raw] = clean
        taken.add(clean)

    def rename(row: Any) -> Any:
        changes = {"variant": renamed[row.variant]}
        if hasattr(row, "button"):
            changes["button"] = renamed[row.button]
        return attrs.evolve(row, **changes)

    return attrs.evolve(
        report,
        control_variant=renamed[report.control_variant],
        counts=tuple(rename(row) for row in report.counts),
        previous_counts=tuple(rename(row) for row in report.previous_counts),
        daily=tuple(rename(row) for row in report.daily),
        exposures=tuple(rename(row) for row in report.exposures),
    )


# Enum members looked up once: attribute access on an Enum class costs more than
# the comparison, and these compare once per GA4 row.
_EXPOSURE = EventRole.EXPOSURE
_HOVER = EventRole.HOVER
_HOVER_END = EventRole.HOVER_END
_CLICK = EventRole.CLICK


@attrs.define
class _Accumulator:
    exposed_users: int = 0
    exposure_events: int = 0
    has_own_exposure: bool = False
    clicking_users: int = 0
    click_events: int = 0
    hovering_users: int = 0
    hover_events: int = 0
    hover_end_events: int = 0
    hover_end_users: int = 0
    success_events: int = 0
    hover_duration_total_ms: float = 0.0
    hover_duration_events: int = 0

    def count(self, role: EventRole, events: int, users: int) -> None:
        # XXX: users of two event names with the same role (two click events
        # for one button) are added, an upper bound: GA4 cannot deduplicate
        # users across rows. The presets use one event name per role and button.
        if role is _EXPOSURE:
            self.has_own_exposure = True
            self.exposed_users += users
            self.exposure_events += events
        elif role is _HOVER:
            self.hovering_users += users
            self.hover_events += events
        elif role is _HOVER_END:
            self.hover_end_users += users
            self.hover_end_events += events
        elif role is _CLICK:
            self.clicking_users += users
            self.click_events += events
        else:
            self.success_events += events


class ReportBuilder:
    """Accumulates GA4 rows, then builds the report.

    Args:
        schema: Which events mean what.
        property_id: The numeric GA4 property ID.
        period: The days the rows cover.
        max_buttons: Buttons to keep, largest click volume first; the rest are
            counted in ``quality.dropped_buttons``.
        resume_from: A :meth:`checkpoint`, to continue after a retried fetch.
    """

    def __init__(
        self,
        schema: EventSchema,
        *,
        property_id: str,
        period: Period,
        max_buttons: int = DEFAULT_MAX_BUTTONS,
        control_variant: str | None = None,
        resume_from: ReportCheckpoint | None = None,
    ) -> None:
        if max_buttons < 1:
            raise ValueError(f"max_buttons must be at least 1, not {max_buttons}")
        self._schema = schema
        self._property_id = property_id
        self._period = period
        self._max_buttons = max_buttons
        self._control_variant = control_variant or schema.control_variant
        self._rules: dict[str, EventRule] = {}
        for rule in schema.rules:
            self._rules.setdefault(rule.event_name, rule)
        self._buttons: dict[tuple[str, str], _Accumulator] = {}
        self._exposures: dict[str, list[int]] = {}
        self._ignored_events: set[str] = set()
        self._more_ignored_events = False
        self._placeholder_rows = 0
        self._notes: list[str] = []
        self.rows_read = 0
        """GA4 rows folded so far."""
        self.pages_fetched = 0
        """GA4 pages (requests) folded so far; the source counts them."""
        self.quality = DataQuality()
        """GA4's data-quality flags; the source sets them from each page's metadata."""
        self.time_zone: str | None = None
        """The property's time zone, once GA4 said it."""
        self.currency: str | None = None
        """The property's currency, once GA4 said it."""
        if resume_from is not None:
            self._restore(resume_from)

    def add_row(
        self,
        *,
        event_name: str,
        button: str | None,
        variant: str | None,
        event_count: int,
        users: int | None,
        duration_ms: float | None = None,
    ) -> None:
        """Fold one GA4 row.

        Args:
            event_name: The row's ``eventName``.
            button: The button dimension's value, None when not requested.
            variant: The variant dimension's value, None when not requested.
            event_count: The row's ``eventCount``.
            users: The row's ``totalUsers`` at the period's grain.
            duration_ms: The summed hover duration of the row's events, in ms.

        Raises:
            TypeError: a count is not a whole number, or the duration not a
                number.
            ValueError: a count is negative or past 64 bits, or the duration
                is NaN, infinite or negative.
        """
        # Checked inline, then explained by _refuse_row: this runs once per row.
        if (
            type(event_count) is not int
            or not 0 <= event_count <= _MAX_COUNT
            or (
                users is not None
                and (type(users) is not int or not 0 <= users <= _MAX_COUNT)
            )
            or (
                duration_ms is not None
                and (
                    type(duration_ms) not in (float, int)
                    or not 0 <= duration_ms < math.inf
                )
            )
        ):
            _refuse_row(event_name, event_count, users, duration_ms)
        self.rows_read += 1

        rule = self._rules.get(event_name)
        if rule is None:
            self._ignore(event_name)
            return
        if self._schema.variant_dimension:
            variant_name = normalise_dimension_value(variant)
        else:
            variant_name = self._schema.default_variant
        button_name = normalise_dimension_value(button)
        if button_name == NOT_SET and rule.button is not None:
            button_name = rule.button
        user_count = users or 0

        if rule.page_level and rule.role is _EXPOSURE:
            if variant_name in PLACEHOLDER_VALUES:
                self._placeholder_rows += 1
            exposure = self._exposures.get(variant_name)
            if exposure is None:
                exposure = self._exposures[variant_name] = [0, 0]
            exposure[0] += user_count
            exposure[1] += event_count
            return
        # Both names are normalised, never empty: a set lookup is the whole check.
        if button_name in PLACEHOLDER_VALUES or variant_name in PLACEHOLDER_VALUES:
            self._placeholder_rows += 1

        # Looked up before created: this runs once per GA4 row.
        acc = self._buttons.get((button_name, variant_name))
        if acc is None:
            acc = self._buttons[(button_name, variant_name)] = _Accumulator()
        acc.count(rule.role, event_count, user_count)
        if rule.carries_duration and duration_ms is not None:
            acc.hover_duration_total_ms += duration_ms
            acc.hover_duration_events += event_count

    def _ignore(self, event_name: str) -> None:
        # Saved files may name any event: keep the note readable and small.
        if len(self._ignored_events) < _MAX_IGNORED_LISTED:
            self._ignored_events.add(normalise_dimension_value(event_name))
        else:
            self._more_ignored_events = True

    def add_rows(self, rows: Iterable[dict[str, object]]) -> None:
        """Fold rows given as keyword dictionaries of :meth:`add_row`."""
        for row in rows:
            self.add_row(**row)  # type: ignore[arg-type]

    def note(self, text: str) -> None:
        """Record a caveat that travels into the insights."""
        if text not in self._notes:
            self._notes.append(text)

    def build(self) -> ButtonReport:
        """Return the compact report, keeping the largest buttons."""
        return self._report(cap=True)

    def build_uncapped(self) -> ButtonReport:
        """Return the report with every button (for trends and exports)."""
        return self._report(cap=False)

    def _report(self, *, cap: bool) -> ButtonReport:
        volume: dict[str, int] = {}
        for (button, _), acc in self._buttons.items():
            volume[button] = volume.get(button, 0) + acc.click_events + acc.hover_events
        ranked = sorted(volume, key=lambda name: (-volume[name], name))
        kept = set(ranked[: self._max_buttons] if cap else ranked)
        dropped = len(ranked) - len(kept)

        has_exposure = self._schema.has_exposure
        counts = []
        for (button, variant), acc in sorted(self._buttons.items()):
            if button not in kept:
                continue
            counts.append(self._counts(button, variant, acc, has_exposure=has_exposure))
        exposures = tuple(
            VariantExposure(variant=variant, users=users, events=events)
            for variant, (users, events) in sorted(self._exposures.items())
        )
        notes = list(self._notes)
        if self._ignored_events:
            names = ", ".join(sorted(self._ignored_events))
            more = " and others" if self._more_ignored_events else ""
            notes.append(f"ignored events the schema does not name: {names}{more}")
        if dropped and cap:
            notes.append(
                f"kept the {len(kept)} buttons with the most interactions; "
                f"{dropped} smaller ones were left out"
            )
        quality = attrs.evolve(
            self.quality,
            dropped_buttons=dropped if cap else 0,
            placeholder_rows=self._placeholder_rows,
            notes=tuple(notes),
        )
        return ButtonReport(
            property_id=self._property_id,
            period=self._period,
            schema_name=self._schema.name,
            control_variant=self._control_variant,
            counts=tuple(counts),
            exposures=exposures,
            has_exposure_event=has_exposure,
            time_zone=self.time_zone,
            currency=self.currency,
            quality=quality,
            rows_read=self.rows_read,
            pages_fetched=self.pages_fetched,
        )

    def _counts(
        self, button: str, variant: str, acc: _Accumulator, *, has_exposure: bool
    ) -> ButtonCounts:
        if acc.has_own_exposure:
            exposed_users: int | None = acc.exposed_users
            exposure_events = acc.exposure_events
        elif has_exposure:
            users, exposure_events = self._exposures.get(variant, [0, 0])
            exposed_users = users
        else:
            exposed_users, exposure_events = None, 0
        # A schema without hover-start events counts hover ends as the hovers.
        hover_events = acc.hover_events or acc.hover_end_events
        hovering_users = acc.hovering_users or acc.hover_end_users
        return ButtonCounts(
            button=button,
            variant=variant,
            exposed_users=exposed_users,
            exposure_events=exposure_events,
            clicking_users=acc.clicking_users,
            click_events=acc.click_events,
            hovering_users=hovering_users,
            hover_events=hover_events,
            success_events=acc.success_events,
            hover_duration_total_ms=acc.hover_duration_total_ms,
            hover_duration_events=acc.hover_duration_events,
        )

    def checkpoint(self) -> ReportCheckpoint:
        """Return everything accumulated so far, to resume a retried fetch."""
        return ReportCheckpoint(
            entries=tuple(
                (button, variant, attrs.astuple(acc))
                for (button, variant), acc in sorted(self._buttons.items())
            ),
            exposures=tuple(
                (variant, users, events)
                for variant, (users, events) in sorted(self._exposures.items())
            ),
            ignored_events=tuple(sorted(self._ignored_events)),
            placeholder_rows=self._placeholder_rows,
            notes=tuple(self._notes),
            rows_read=self.rows_read,
            pages_fetched=self.pages_fetched,
            quality=self.quality,
            time_zone=self.time_zone,
            currency=self.currency,
        )

    def _restore(self, checkpoint: ReportCheckpoint) -> None:
        for button, variant, values in checkpoint.entries:
            self._buttons[(button, variant)] = _Accumulator(*values)
        for variant, users, events in checkpoint.exposures:
            self._exposures[variant] = [users, events]
        self._ignored_events = set(checkpoint.ignored_events)
        self._placeholder_rows = checkpoint.placeholder_rows
        self._notes = list(checkpoint.notes)
        self.rows_read = checkpoint.rows_read
        self.pages_fetched = checkpoint.pages_fetched
        self.quality = checkpoint.quality
        self.time_zone = checkpoint.time_zone
        self.currency = checkpoint.currency


@attrs.frozen(kw_only=True)
class ReportCheckpoint:
    """A :class:`ReportBuilder`'s state, small enough for an activity heartbeat."""

    entries: tuple[tuple[str, str, tuple[Any, ...]], ...] = ()
    """Per button x variant: the button, the variant and its running counts."""
    exposures: tuple[tuple[str, int, int], ...] = ()
    """Per variant: the variant, exposed users and exposure events."""
    ignored_events: tuple[str, ...] = ()
    """Event names seen that the schema does not name."""
    placeholder_rows: int = 0
    """Rows with a placeholder button or variant."""
    notes: tuple[str, ...] = ()
    """Caveats recorded so far."""
    rows_read: int = 0
    """Rows folded so far."""
    pages_fetched: int = 0
    """Pages fetched so far."""
    quality: DataQuality = attrs.field(factory=DataQuality)
    """GA4's data-quality flags so far."""
    time_zone: str | None = None
    """The property's time zone, once known."""
    currency: str | None = None
    """The property's currency, once known."""


def _refuse_row(
    event_name: str, event_count: object, users: object, duration_ms: object
) -> None:
    """Raise the error that explains why a row's numbers cannot be folded."""
    _check_count("eventCount", event_count, event_name)
    if users is not None:
        _check_count("totalUsers", users, event_name)
    error = FieldTypeError if type(duration_ms) not in (float, int) else FieldValueError
    raise error(
        f"hover duration {duration_ms!r} on event "
        f"{normalise_dimension_value(event_name)!r} is not a "
        "finite, non-negative number of milliseconds"
    )


def _check_count(name: str, value: object, event_name: str) -> None:
    event_name = normalise_dimension_value(event_name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldTypeError(
            f"{name} {value!r} on event {event_name!r} is a "
            f"{type(value).__name__}, not a whole number of events or users"
        )
    if value < 0:
        raise FieldValueError(
            f"{name} {value!r} on event {event_name!r} is negative; GA4 counts "
            "are never below zero, so the report is corrupt"
        )
    if value > _MAX_COUNT:
        raise FieldValueError(
            f"{name} {value!r} on event {event_name!r} is beyond GA4's 64-bit "
            "counts, so the report is corrupt"
        )


# --- daily counts, for trends ----------------------------------------------------


MAX_DAILY_ENTRIES = 1_000
"""Daily entries kept in a report: about 130 KB, well under Temporal's 256 KB."""


class DailyBuilder:
    """Folds one-day GA4 rows (a report with a ``date`` dimension) into day counts.

    Only exposures and clicks are kept per day, the inputs of click-through
    trends. Users are the day's own (GA4's ``totalUsers`` of that day's row)
    and are never added across days.

    Args:
        schema: Which events mean what.
    """

    def __init__(self, schema: EventSchema) -> None:
        self._schema = schema
        # (day, button, variant) -> [exposed users, exposure events, clicking
        # users, click events]; page-level exposures per (day, variant).
        self._buttons: dict[tuple[datetime.date, str, str], list[int]] = {}
        self._pages: dict[tuple[datetime.date, str], list[int]] = {}

    def add_row(
        self,
        *,
        day: datetime.date,
        event_name: str,
        button: str | None,
        variant: str | None,
        event_count: int,
        users: int,
    ) -> None:
        """Fold one day's row of one event, as GA4 would report it.

        Rows of events that are neither exposures nor clicks are ignored.

        Args:
            day: The row's ``date``.
            event_name: The row's ``eventName``.
            button: The button dimension's value, None when not requested.
            variant: The variant dimension's value, None when not requested.
            event_count: The row's event count.
            users: The row's ``totalUsers`` for that day.

        Raises:
            ValueError: a count is negative or not a whole number.
        """
        if (
            type(event_count) is not int
            or type(users) is not int
            or not 0 <= event_count <= _MAX_COUNT
            or not 0 <= users <= _MAX_COUNT
        ):
            _check_count("eventCount", event_count, event_name)
            _check_count("totalUsers", users, event_name)
        rule = self._schema.rule_for(event_name)
        if rule is None or rule.role not in (EventRole.EXPOSURE, EventRole.CLICK):
            return
        variant_name = (
            normalise_dimension_value(variant)
            if variant is not None
            else self._schema.default_variant
        )
        if rule.role is EventRole.EXPOSURE and rule.page_level:
            entry = self._pages.setdefault((day, variant_name), [0, 0])
            entry[0] += users
            entry[1] += event_count
            return
        button_name = normalise_dimension_value(button)
        if button_name == NOT_SET and rule.button is not None:
            button_name = rule.button
        counts = self._buttons.setdefault(
            (day, button_name, variant_name), [0, 0, 0, 0]
        )
        first = 0 if rule.role is EventRole.EXPOSURE else 2
        counts[first] += users
        counts[first + 1] += event_count

    def build(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        max_entries: int = MAX_DAILY_ENTRIES,
    ) -> tuple[tuple[DailyCounts, ...], tuple[str, ...]]:
        """Return the day counts of the given button x variant pairs, and caveats.

        A page-level exposure (``page_view``) gives every button of its variant
        a day, with zero clicks when the button had none; a button's own
        exposure gives it days where it was seen.

        Args:
            pairs: The (button, variant) pairs to report, largest first (the
                report's entries); past ``max_entries`` the smaller are left out.
            max_entries: The most entries returned.
        """
        by_pair: dict[tuple[str, str], dict[datetime.date, list[int]]] = {}
        for (day, button, variant), counts in self._buttons.items():
            by_pair.setdefault((button, variant), {})[day] = counts
        page_days: dict[str, dict[datetime.date, list[int]]] = {}
        for (day, variant), exposure in self._pages.items():
            page_days.setdefault(variant, {})[day] = exposure
        has_exposure = self._schema.has_exposure

        entries: list[DailyCounts] = []
        notes: list[str] = []
        left_out = 0
        for button, variant in pairs:
            own = by_pair.get((button, variant), {})
            pages = page_days.get(variant, {})
            days = sorted(own.keys() | pages.keys())
            if len(entries) + len(days) > max_entries:
                left_out += 1
                continue
            for day in days:
                exposed_users, exposure_events, clicking_users, click_events = own.get(
                    day, [0, 0, 0, 0]
                )
                if day in pages:
                    exposed_users, exposure_events = pages[day]
                entries.append(
                    DailyCounts(
                        date=day,
                        button=button,
                        variant=variant,
                        exposed_users=exposed_users if has_exposure else None,
                        exposure_events=exposure_events,
                        clicking_users=clicking_users,
                        click_events=click_events,
                    )
                )
        if left_out:
            notes.append(
                f"daily trends left out {left_out} smaller button x variant "
                f"series to stay within {max_entries:,} daily entries"
            )
        entries.sort(key=lambda entry: (entry.button, entry.variant, entry.date))
        return tuple(entries), tuple(notes)


def largest_pairs(counts: Iterable[ButtonCounts]) -> list[tuple[str, str]]:
    """A report's (button, variant) pairs, most events first: the daily order."""
    ranked = sorted(
        counts,
        key=lambda c: (-(c.click_events + c.exposure_events), c.button, c.variant),
    )
    return [(c.button, c.variant) for c in ranked]
