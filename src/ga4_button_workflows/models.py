"""The models that travel between the workflow, its activities and the host.

Every model is a frozen, slotted attrs class. They cross Temporal's wire through
the converter in :mod:`ga4_button_workflows.converter`, so this module imports
nothing but the standard library and attrs: it is passed through the workflow
sandbox unchanged.

Fields added in later versions always carry a default, so a payload written by
an older version of the library still decodes.
"""

from __future__ import annotations

import datetime
import enum
import re
import zoneinfo
from typing import Any

import attrs

from ga4_button_workflows import _checks
from ga4_button_workflows.stats import Interval

__all__ = [
    "GA4_HISTORY_LIMIT_DAYS",
    "NOT_SET",
    "PLACEHOLDER_VALUES",
    "AnalysisOutcome",
    "AnalysisRecord",
    "AnalysisRequest",
    "BranchOutcome",
    "BranchStatus",
    "ButtonCounts",
    "ButtonInsights",
    "ButtonMetrics",
    "ButtonReport",
    "ChangeAlertsRequest",
    "ChangeDirection",
    "ChangeFinding",
    "DailyCounts",
    "DataQuality",
    "EventRole",
    "EventRule",
    "EventSchema",
    "FetchRequest",
    "MetricsReport",
    "NotificationRequest",
    "Period",
    "PropertiesRequest",
    "PropertyResult",
    "Recommendation",
    "SaveRequest",
    "SentAlert",
    "StepProgress",
    "TrendPoint",
    "VariantComparison",
    "VariantExposure",
    "VariantStanding",
    "Verdict",
    "is_placeholder",
    "local_date",
    "resolve_period",
    "validate_property_id",
]

GA4_HISTORY_LIMIT_DAYS = 14 * 31
"""The longest period one analysis covers, in days (about 14 months).

A bound of the library, not of the Data API: 14 months is GA4's longest
data-retention setting for event-level data (explorations), and one analysis
of a longer span mixes page versions and usually means a mistyped year. Analyse
longer histories as several periods.
"""

_NUMERIC_PROPERTY = re.compile(r"^(?:properties/)?([0-9]+)$")
_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]+$", re.IGNORECASE)
_UNIVERSAL_ID = re.compile(r"^UA-[0-9]+-[0-9]+$", re.IGNORECASE)

_WHERE_PROPERTY_ID_IS = (
    "the Data API needs the numeric property ID shown in GA4 under "
    "Admin > Property settings (for example 123456789)"
)


PLACEHOLDER_VALUES = frozenset(
    {"(not set)", "(other)", "(data not available)", "(not provided)"}
)
"""Dimension values GA4 uses in place of a real value."""

NOT_SET = "(not set)"
"""The one spelling of a missing value; GA4's empty string maps to it."""


def is_placeholder(value: str) -> bool:
    """True when ``value`` is a GA4 placeholder rather than a real name.

    Case and surrounding spaces do not matter: ``" (Not Set)"`` is one too.
    """
    return not value.strip() or value.strip().lower() in PLACEHOLDER_VALUES


def validate_property_id(property_id: str) -> str:
    """Return the numeric GA4 property ID, or raise a message saying what to use.

    Args:
        property_id: ``"123456789"`` or ``"properties/123456789"``.

    Returns:
        The bare numeric ID, ``"123456789"``.

    Raises:
        ValueError: the value is a measurement ID (``G-...``), a Universal
            Analytics ID (``UA-...``) or anything else that is not numeric.
        TypeError: the value is not a string, e.g. the int ``123456789``.
    """
    if not isinstance(property_id, str):
        raise TypeError(
            f"the property ID must be a string such as '123456789', not "
            f"{type(property_id).__name__} {property_id!r}; {_WHERE_PROPERTY_ID_IS}."
        )
    value = property_id.strip()
    match = _NUMERIC_PROPERTY.match(value)
    if match:
        return match.group(1)
    if _MEASUREMENT_ID.match(value):
        reason = f"{property_id!r} is a measurement ID (a web data stream's tag)"
    elif _UNIVERSAL_ID.match(value):
        reason = f"{property_id!r} is a Universal Analytics ID, which GA4 ignores"
    else:
        reason = f"{property_id!r} is not a GA4 property ID"
    raise ValueError(f"{reason}; {_WHERE_PROPERTY_ID_IS}.")


def resolve_period(request: AnalysisRequest, *, today: datetime.date) -> Period:
    """Return the days ``request`` asks for.

    An explicit ``start_date``/``end_date`` wins; otherwise the last
    ``days_back`` complete days before ``request.report_date`` (or ``today``).

    Raises:
        ValueError: the period is empty, reversed, ends after ``today``,
            is longer than :data:`GA4_HISTORY_LIMIT_DAYS`, or only half given.
        TypeError: ``days_back`` is not a whole number (``7.5``, ``True``), or
            a date is not a ``datetime.date`` (a string, a ``datetime``). The message
            names the bad value.
    """
    for name, value in (
        ("start_date", request.start_date),
        ("end_date", request.end_date),
    ):
        if value is not None and (
            not isinstance(value, datetime.date) or isinstance(value, datetime.datetime)
        ):
            raise TypeError(
                f"{name} must be a datetime.date, got {type(value).__name__} "
                f"{value!r}; e.g. datetime.date(2026, 3, 1), or .date() of a "
                "datetime in the property's time zone"
            )
    if (request.start_date is None) != (request.end_date is None):
        raise ValueError(
            "give both start_date and end_date, or neither and use days_back "
            f"(got start_date={request.start_date}, end_date={request.end_date})"
        )
    if request.start_date is not None and request.end_date is not None:
        if request.end_date < request.start_date:
            raise ValueError(
                f"end_date {request.end_date} is before start_date "
                f"{request.start_date}; swap them"
            )
        if request.end_date > today:
            raise ValueError(
                f"end_date {request.end_date} is after today ({today} in "
                f"{request.time_zone}); GA4 has no data for days to come, so end "
                "the period today at the latest"
            )
        period = Period(request.start_date, request.end_date)
        if period.days > GA4_HISTORY_LIMIT_DAYS:
            raise ValueError(
                f"the period {period} spans {period.days} days; one analysis "
                f"covers at most {GA4_HISTORY_LIMIT_DAYS} days (about 14 "
                "months), so check the years or split the period"
            )
        return period
    if isinstance(request.days_back, bool) or not isinstance(request.days_back, int):
        raise TypeError(
            f"days_back must be a whole number of days, not {request.days_back!r}"
        )
    if not 1 <= request.days_back <= GA4_HISTORY_LIMIT_DAYS:
        raise ValueError(
            f"days_back must be between 1 and {GA4_HISTORY_LIMIT_DAYS} (about "
            f"14 months), not {request.days_back}"
        )
    anchor = request.report_date or today
    end = anchor - datetime.timedelta(days=1)
    return Period(end - datetime.timedelta(days=request.days_back - 1), end)


def local_date(moment: datetime.datetime, time_zone: str) -> datetime.date:
    """Return the calendar day of ``moment`` in ``time_zone``.

    Raises:
        ValueError: ``time_zone`` is not an IANA time zone name.
        TypeError: ``time_zone`` is not a string.
    """
    return moment.astimezone(_zone(time_zone)).date()


def _zone(time_zone: object) -> zoneinfo.ZoneInfo:
    if not isinstance(time_zone, str):
        raise _checks.FieldTypeError(
            f"the time zone must be an IANA name such as 'America/New_York', "
            f"got {type(time_zone).__name__} {time_zone!r}"
        )
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _checks.FieldValueError(
            f"unknown time zone {time_zone!r}; use the property's IANA zone "
            "name shown in GA4's property settings, such as 'America/New_York'"
        ) from None


# --- Event schema -------------------------------------------------------------


class EventRole(str, enum.Enum):
    """What a GA4 event means for a button."""

    EXPOSURE = "exposure"
    """The user saw the button (or the page variant that carries it)."""
    HOVER = "hover"
    """The pointer entered the button; counted as a hover."""
    HOVER_END = "hover_end"
    """The pointer left the button; carries the hover duration."""
    CLICK = "click"
    """The user clicked; may carry the hover duration before the click."""
    SUCCESS = "success"
    """The click led where it should (a follow-up event)."""


@attrs.frozen(kw_only=True)
class EventRule:
    """One GA4 event name and the role it plays."""

    event_name: str
    """The GA4 event name, e.g. ``cta_click``."""
    role: EventRole
    """What the event means."""
    button: str | None = None
    """The button to credit when the event carries no button parameter.

    The original landing page's navigation and feature-card events carry no
    ``button_type``, so the family of the event names the button.
    """
    page_level: bool = False
    """True when the event is about the whole page variant (``page_view``).

    A page-level exposure counts for every button shown on that variant.
    """
    carries_duration: bool = False
    """True when the event sends the hover duration (hover ends and clicks on
    the original landing page); only these count towards the mean."""
    count_metric: str | None = None
    """The GA4 metric that counts this event; None means ``eventCount``.

    GA4 refuses ``eventCount`` beside item-scoped dimensions such as
    ``itemPromotionName``, so the promotions preset counts
    ``itemsViewedInPromotion`` and ``itemsClickedInPromotion`` instead.
    """


@attrs.frozen(kw_only=True)
class EventSchema:
    """Which GA4 events and parameters mean impression, hover and click.

    GA4 has no standard button events, so this is configuration. The presets
    live in :mod:`ga4_button_workflows.schemas`.
    """

    name: str
    """A short name for logs and the insights document."""
    rules: tuple[EventRule, ...]
    """Every event the analysis asks GA4 for."""
    button_dimension: str | None = None
    """The GA4 dimension naming the button, e.g. ``customEvent:button_type``."""
    variant_dimension: str | None = None
    """The GA4 dimension naming the page variant, e.g. ``customEvent:page_variant``."""
    duration_metric: str | None = None
    """The GA4 metric holding the summed hover duration, e.g.
    ``customEvent:hover_duration``."""
    default_variant: str = "default"
    """The variant name used when the schema has no variant dimension."""
    control_variant: str = "original"
    """The variant every other variant is compared against."""

    def rule_for(self, event_name: str) -> EventRule | None:
        """Return the rule of ``event_name``, or None when the schema ignores it."""
        for rule in self.rules:
            if rule.event_name == event_name:
                return rule
        return None

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event name the schema asks for, in rule order."""
        return tuple(rule.event_name for rule in self.rules)

    @property
    def has_exposure(self) -> bool:
        """True when some event counts as an exposure, so CTR can be computed."""
        return any(rule.role is EventRole.EXPOSURE for rule in self.rules)


# --- Requests and the report --------------------------------------------------


@attrs.frozen
class Period:
    """An inclusive range of the property's calendar days."""

    start: datetime.date = attrs.field(validator=_checks.day)
    """First day analysed."""
    end: datetime.date = attrs.field(validator=_checks.day)
    """Last day analysed, inclusive; never before ``start``."""

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"a period's end {self.end} is before its start {self.start}; swap them"
            )

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@attrs.frozen(kw_only=True)
class AnalysisRequest:
    """What a caller asks the workflow to analyse.

    Either ``days_back`` (the last N complete days before ``report_date``) or an
    explicit ``start_date`` and ``end_date``.
    """

    property_id: str
    """The numeric GA4 property ID. Measurement IDs (``G-...``) are refused."""
    days_back: int = 7
    """How many complete days to analyse, ending the day before ``report_date``."""
    start_date: datetime.date | None = None
    """First day, when an explicit period is wanted."""
    end_date: datetime.date | None = None
    """Last day (inclusive), when an explicit period is wanted."""
    report_date: datetime.date | None = None
    """The day the analysis is for; defaults to the scheduled start time of a
    scheduled run, else to today in ``time_zone``."""
    time_zone: str = "UTC"
    """The property's reporting time zone (IANA name): GA4 days are its days."""
    control_variant: str | None = None
    """Override of the schema's control variant."""
    notify: bool = True
    """Send a notification after saving."""
    source_name: str | None = None
    """Which registered data source to use, when the worker has several."""
    fetch_heartbeat_timeout_s: float | None = None
    """How long the fetch may go without a heartbeat before Temporal retries it
    on another worker, in seconds; the workflow's default (120 s) when None.
    A crashed worker's fetch resumes no sooner than this."""


@attrs.frozen(kw_only=True)
class FetchRequest:
    """The input of the fetch activity: one property, one resolved period."""

    property_id: str
    """The numeric GA4 property ID."""
    period: Period
    """The days to fetch."""
    time_zone: str = "UTC"
    """The property's time zone as the caller believes it."""
    source_name: str | None = None
    """Which registered data source to use."""


@attrs.frozen(kw_only=True)
class DataQuality:
    """What GA4 said about the data's reliability, carried into the insights."""

    thresholded: bool = attrs.field(default=False, validator=_checks.flag)
    """GA4 withheld rows to protect user privacy (``subjectToThresholding``)."""
    sampled: bool = attrs.field(default=False, validator=_checks.flag)
    """The report was computed from a sample."""
    sampling_ratio: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_checks.share)
    )
    """Share of events read when sampled, ``samplesReadCount / samplingSpaceSize``."""
    other_row: bool = attrs.field(default=False, validator=_checks.flag)
    """High-cardinality rows were collapsed into ``(other)``."""
    dropped_buttons: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Buttons left out because the report kept only the largest ones."""
    placeholder_rows: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Rows whose button or variant was ``(not set)``, ``(other)`` or similar."""
    notes: tuple[str, ...] = attrs.field(default=(), validator=_checks.items_of(str))
    """Other caveats in plain words."""

    @property
    def has_caveats(self) -> bool:
        """True when anything here should make a reader cautious."""
        return bool(
            self.thresholded
            or self.sampled
            or self.other_row
            or self.dropped_buttons
            or self.notes
        )


@attrs.frozen(kw_only=True)
class VariantExposure:
    """Page-level exposure of one variant, for the sample-ratio check."""

    variant: str = attrs.field(validator=_checks.text)
    """The page variant."""
    users: int = attrs.field(validator=_checks.ga4_count)
    """Users exposed to the variant over the whole period."""
    events: int = attrs.field(validator=_checks.ga4_count)
    """Exposure events (e.g. ``page_view``)."""


@attrs.frozen(kw_only=True)
class ButtonCounts:
    """Aggregated GA4 counts for one button on one page variant."""

    button: str = attrs.field(validator=_checks.text)
    """The button, e.g. ``cta``."""
    variant: str = attrs.field(validator=_checks.text)
    """The page variant, e.g. ``colors``."""
    exposed_users: int | None = attrs.field(
        default=None, validator=_checks.optional_ga4_count
    )
    """Users exposed to the button over the period; None without an exposure event."""
    exposure_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Exposure events."""
    clicking_users: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Users who clicked at least once."""
    click_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Click events."""
    hovering_users: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Users who hovered at least once."""
    hover_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Hover events (hover starts, or hover ends when there is no start event)."""
    success_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Follow-up success events."""
    hover_duration_total_ms: float = attrs.field(
        default=0.0, validator=_checks.non_negative_finite
    )
    """Sum of hover durations reported by the events that carry one, in ms."""
    hover_duration_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Events that carried a hover duration (hover ends and clicks)."""


@attrs.frozen(kw_only=True)
class DailyCounts:
    """One day of one button on one variant, for trends.

    User counts here are for that day alone: they are never added across days.
    """

    date: datetime.date = attrs.field(validator=_checks.day)
    """The property's calendar day."""
    button: str = attrs.field(validator=_checks.text)
    """The button."""
    variant: str = attrs.field(validator=_checks.text)
    """The page variant."""
    exposed_users: int | None = attrs.field(
        default=None, validator=_checks.optional_ga4_count
    )
    """Users exposed that day; None without an exposure event."""
    exposure_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Exposure events that day."""
    clicking_users: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Users who clicked that day."""
    click_events: int = attrs.field(default=0, validator=_checks.ga4_count)
    """Click events that day."""


@attrs.frozen(kw_only=True)
class ButtonReport:
    """The compact report the fetch activity returns.

    Its size follows the number of buttons x variants, never the number of GA4
    rows.
    """

    property_id: str = attrs.field(validator=_checks.text)
    """The numeric GA4 property ID."""
    period: Period = attrs.field(validator=_checks.instance_of(Period))
    """The days covered."""
    schema_name: str = attrs.field(validator=_checks.text)
    """The event schema used to read GA4's events."""
    control_variant: str = attrs.field(default="original", validator=_checks.text)
    """The variant every other variant is compared against."""
    counts: tuple[ButtonCounts, ...] = attrs.field(
        default=(), validator=_checks.items_of(ButtonCounts)
    )
    """One entry per button x variant, sorted by button then variant."""
    exposures: tuple[VariantExposure, ...] = attrs.field(
        default=(), validator=_checks.items_of(VariantExposure)
    )
    """Page-level exposure per variant, for the sample-ratio check."""
    has_exposure_event: bool = attrs.field(default=True, validator=_checks.flag)
    """False when the schema counts no exposure, so CTR cannot be computed."""
    time_zone: str | None = attrs.field(default=None)
    """The property's time zone as GA4 reported it (an IANA name)."""
    currency: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_checks.text)
    )
    """The property's currency as GA4 reported it."""
    quality: DataQuality = attrs.field(
        factory=DataQuality, validator=_checks.instance_of(DataQuality)
    )
    """Caveats on the data."""
    rows_read: int = attrs.field(default=0, validator=_checks.ga4_count)
    """GA4 rows folded into this report."""
    pages_fetched: int = attrs.field(default=0, validator=_checks.ga4_count)
    """GA4 pages (requests) it took."""
    daily: tuple[DailyCounts, ...] = attrs.field(
        default=(), validator=_checks.items_of(DailyCounts)
    )
    """Per day, for the largest buttons; empty when trends were not asked for."""
    previous_period: Period | None = attrs.field(
        default=None, validator=attrs.validators.optional(_checks.instance_of(Period))
    )
    """The equally long period just before ``period``, when fetched."""
    previous_counts: tuple[ButtonCounts, ...] = attrs.field(
        default=(), validator=_checks.items_of(ButtonCounts)
    )
    """Counts over ``previous_period`` (users at that period's grain)."""

    @time_zone.validator
    def _check_time_zone(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            _zone(value)


# --- Metrics --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ButtonMetrics:
    """Metrics of one button on one page variant."""

    button: str
    """The button."""
    variant: str
    """The page variant."""
    exposed_users: int | None
    """Users exposed; None when the schema has no exposure event."""
    exposure_events: int
    """Exposure events."""
    clicking_users: int
    """Users who clicked."""
    click_events: int
    """Click events."""
    hovering_users: int
    """Users who hovered."""
    hover_events: int
    """Hover events."""
    click_through_rate: float | None
    """Users who clicked / users exposed; None without exposures."""
    click_through_interval: Interval | None
    """Wilson 95% interval of the click-through rate."""
    hover_to_click_rate: float | None
    """Users who clicked / users who hovered; None without hovers."""
    mean_hover_duration_ms: float | None
    """Mean hover duration over events that carried one, in ms."""
    engagement_score: float
    """Bounded engagement score in [0, 1]; see :mod:`ga4_button_workflows.metrics`."""
    enough_data: bool = False
    """True when the exposures and clicks pass the data gates for ranking."""

    @property
    def label(self) -> str:
        """How insights name the button, e.g. ``"cta on colors"``."""
        return f"{self.button} on {self.variant}"


class Verdict(str, enum.Enum):
    """What a variant-vs-control comparison lets a team conclude."""

    BETTER = "better"
    """The variant's CTR is significantly higher after correction."""
    WORSE = "worse"
    """The variant's CTR is significantly lower after correction."""
    INCONCLUSIVE = "inconclusive"
    """Enough data, but no significant difference."""
    NOT_ENOUGH_DATA = "not_enough_data"
    """Below the data gates, or not computable; no conclusion."""


@attrs.frozen(kw_only=True)
class VariantComparison:
    """One variant against the control for one button."""

    button: str
    """The button."""
    control_variant: str
    """The control variant."""
    variant: str
    """The variant compared with the control."""
    status: str
    """The comparison's :class:`~ga4_button_workflows.stats.ComparisonStatus` value."""
    verdict: Verdict
    """What may be concluded."""
    control_rate: float | None
    """Control CTR."""
    variant_rate: float | None
    """Variant CTR."""
    difference: float | None
    """Variant CTR - control CTR, absolute."""
    difference_interval: Interval | None
    """Wald 95% interval of the difference."""
    relative_lift: float | None
    """Variant CTR / control CTR - 1."""
    lift_interval: Interval | None
    """Delta-method 95% interval of the relative lift."""
    p_value: float | None
    """Two-sided pooled z-test p-value, unadjusted."""
    adjusted_p_value: float | None
    """p-value adjusted across every comparison of the analysis."""
    chance_to_beat: float | None
    """Posterior probability (Beta(1,1) prior) that the variant beats control."""


@attrs.frozen(kw_only=True)
class VariantStanding:
    """A page variant's chance of being the best, over all its buttons."""

    variant: str
    """The page variant."""
    clicking_users: int
    """Users who clicked any button on it (an upper bound: users may repeat)."""
    exposed_users: int | None
    """Users exposed to it."""
    click_through_rate: float | None
    """Clicking users / exposed users."""
    mean_engagement_score: float
    """Mean engagement score of its buttons."""
    probability_best: float | None
    """Posterior probability that its CTR is the highest."""


# --- Trends -----------------------------------------------------------------------


class ChangeDirection(str, enum.Enum):
    """Which way a click-through rate moved between two periods."""

    DROP = "drop"
    """The current period's rate is lower than the previous period's."""
    RISE = "rise"
    """The current period's rate is higher than the previous period's."""


@attrs.frozen(kw_only=True)
class TrendPoint:
    """One day of one button on one page variant."""

    date: datetime.date
    """The property's calendar day."""
    button: str
    """The button."""
    variant: str
    """The page variant."""
    exposed_users: int | None
    """Users exposed that day; None when the schema has no exposure event."""
    clicking_users: int
    """Users who clicked that day."""
    click_through_rate: float | None
    """Clicking users / exposed users (capped at 1); None without exposures."""
    interval: Interval | None
    """Wilson interval of the click-through rate, at ``TrendConfig.confidence``."""


@attrs.frozen(kw_only=True)
class ChangeFinding:
    """A significant change of one button's click-through rate between periods."""

    button: str
    """The button."""
    variant: str
    """The page variant."""
    direction: ChangeDirection
    """Whether the rate dropped or rose."""
    previous_period: Period
    """The earlier period, the baseline."""
    current_period: Period
    """The period analysed."""
    previous_rate: float
    """Click-through rate over the previous period."""
    current_rate: float
    """Click-through rate over the current period."""
    difference: float
    """Current rate - previous rate, absolute (0.01 = 1 point)."""
    relative_change: float | None
    """Current rate / previous rate - 1 (-0.3 = a 30% drop); None when the
    previous rate was 0."""
    change_interval: Interval | None
    """Interval of ``relative_change`` on the log scale (Katz), at ``confidence``."""
    p_value: float
    """Two-sided pooled z-test p-value, unadjusted."""
    adjusted_p_value: float
    """Holm-adjusted across every comparison of the analysis."""
    previous_exposed_users: int
    """Users exposed over the previous period."""
    current_exposed_users: int
    """Users exposed over the current period."""
    confidence: float = 0.95
    """Confidence level of ``change_interval``."""
    alert: bool = False
    """True when the change is large enough to tell people about: its
    ``alert_p_value`` is at most the analysis' ``alpha``."""
    alert_p_value: float | None = None
    """Holm-adjusted p-value, across the buttons that may alert, that the change
    is larger than the alert size (``TrendConfig.min_relative_change``); None
    when the finding may not alert (placeholder names, flagged data, no relative
    size) or was recorded before this field existed."""

    @property
    def label(self) -> str:
        """How messages name the button, e.g. ``"cta on colors"``."""
        return f"{self.button} on {self.variant}"


@attrs.frozen(kw_only=True)
class SentAlert:
    """A change alert that went out, as the store remembers it."""

    relative_change: float = attrs.field(validator=_checks.finite)
    """The relative change alerted (-0.3 = a 30% drop)."""
    analysis_id: str
    """The analysis that sent it."""
    previous_rate: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_checks.positive_finite)
    )
    """The click-through rate before the change: the alerted comparison's
    previous rate, against which a later sighting of the same change is
    measured. None for an alert recorded without it."""
    span: Period | None = None
    """The days the alerted comparison covered, from the first day of its
    previous period to the last day of its current period: the change happened
    within them. None for an alert recorded without them; every later finding
    then counts as the same change."""

    @classmethod
    def of(cls, finding: ChangeFinding, analysis_id: str) -> SentAlert:
        """Return the record of an alert sent for ``finding``."""
        if finding.relative_change is None:
            raise ValueError(
                f"the finding on {finding.label} has no relative change, so it "
                "cannot have alerted"
            )
        return cls(
            relative_change=finding.relative_change,
            analysis_id=analysis_id,
            previous_rate=finding.previous_rate,
            span=Period(finding.previous_period.start, finding.current_period.end),
        )


@attrs.frozen(kw_only=True)
class MetricsReport:
    """The output of the metrics activity."""

    property_id: str
    """The numeric GA4 property ID."""
    period: Period
    """The days covered."""
    schema_name: str
    """The event schema used."""
    control_variant: str
    """The control variant."""
    buttons: tuple[ButtonMetrics, ...]
    """One entry per button x variant."""
    comparisons: tuple[VariantComparison, ...]
    """Every variant against the control, per button."""
    variants: tuple[VariantStanding, ...]
    """Per-variant standing."""
    srm_status: str | None = None
    """The sample-ratio check's status value, None when not run."""
    srm_p_value: float | None = None
    """The sample-ratio check's p-value."""
    has_exposure_event: bool = True
    """False when CTR could not be computed."""
    quality: DataQuality = attrs.field(factory=DataQuality)
    """Caveats carried from the report."""
    time_zone: str | None = None
    """The property's time zone."""
    trend: tuple[TrendPoint, ...] = ()
    """Daily click-through of the largest button x variant series; a missing
    day is a gap."""
    changes: tuple[ChangeFinding, ...] = ()
    """Significant changes since the equally long previous period."""
    changes_since: Period | None = None
    """The previous period the changes were looked for in; None when nothing
    was compared (no baseline, or no series with enough data in both)."""


# --- Insights -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Recommendation:
    """One recommendation with the numbers behind it."""

    kind: str
    """A stable machine name, e.g. ``significant_winner``, ``needs_improvement``."""
    text: str
    """The sentence shown to people, with its ✅ ⚠️ 💡 🎯 prefix."""
    button: str | None = None
    """The button concerned."""
    variant: str | None = None
    """The variant concerned."""
    evidence: dict[str, float | int | str | None] = attrs.field(factory=dict)
    """The numbers behind the recommendation."""


@attrs.frozen(kw_only=True)
class ButtonInsights:
    """The insights document.

    The first six fields keep the original application's keys; the rest add
    the evidence beside them.
    """

    timestamp: datetime.datetime
    """When the insights were generated (timezone-aware, UTC)."""
    best_performing_button: str | None
    """E.g. ``"cta on colors"``; None with ``selection_note`` saying why."""
    worst_performing_button: str | None
    """The lowest ranked button with enough data; never the best one."""
    most_engaging_variant: str | None
    """The variant most likely to have the highest CTR."""
    recommendations: tuple[str, ...]
    """Recommendation sentences, as the original application showed them."""
    performance_summary: dict[str, Any]
    """Totals and the original summary keys."""
    property_id: str = ""
    """The numeric GA4 property ID."""
    period: Period | None = None
    """The days covered."""
    selection_note: str | None = None
    """Why no best or worst button was named, when none was."""
    most_engaging_variant_probability: float | None = None
    """The most engaging variant's probability of being best."""
    buttons: tuple[ButtonMetrics, ...] = ()
    """Metrics per button x variant (the top ones when there are many)."""
    comparisons: tuple[VariantComparison, ...] = ()
    """Variant-vs-control comparisons."""
    variants: tuple[VariantStanding, ...] = ()
    """Per-variant standing."""
    recommendation_details: tuple[Recommendation, ...] = ()
    """The recommendations as structured records."""
    caveats: tuple[str, ...] = ()
    """Data-quality caveats in plain words."""
    schema_name: str = ""
    """The event schema used."""
    trend: tuple[TrendPoint, ...] = ()
    """Daily click-through of the largest button x variant series; a missing
    day is a gap, never a zero."""
    changes: tuple[ChangeFinding, ...] = ()
    """Significant click-through changes since the equally long previous
    period, Holm-corrected."""
    changes_since: Period | None = None
    """The previous period the changes were looked for in; None when nothing
    was compared: no baseline, or no button x variant with enough data in both
    periods (then an empty ``changes`` says nothing)."""


# --- Saving, notifying and the outcome -----------------------------------------


@attrs.frozen(kw_only=True)
class SaveRequest:
    """The input of the save activity."""

    analysis_id: str
    """Stable ID of the analysis: the workflow ID. Saves upsert on it."""
    workflow_id: str
    """The workflow ID."""
    run_id: str
    """The workflow run ID."""
    insights: ButtonInsights
    """The document to save."""


@attrs.frozen(kw_only=True)
class NotificationRequest:
    """The input of the notification activity."""

    analysis_id: str
    """Stable ID of the analysis; deliveries are recorded against it."""
    insights: ButtonInsights
    """What to tell people."""


@attrs.frozen(kw_only=True)
class ChangeAlertsRequest:
    """The input of the change-alert activity."""

    analysis_id: str
    """Stable ID of the analysis; alerts refer to it."""
    property_id: str
    """The numeric GA4 property ID; alert state is kept per property."""
    changes: tuple[ChangeFinding, ...]
    """The analysis's change findings; those marked ``alert`` are sent."""


@attrs.frozen(kw_only=True)
class AnalysisRecord:
    """An analysis as a store keeps it."""

    analysis_id: str
    """Stable ID of the analysis."""
    workflow_id: str
    """The workflow ID."""
    run_id: str
    """The workflow run ID of the save."""
    property_id: str
    """The numeric GA4 property ID."""
    period: Period | None
    """The days covered."""
    saved_at: datetime.datetime
    """When the record was written (UTC)."""
    insights: ButtonInsights
    """The insights document."""


class BranchStatus(str, enum.Enum):
    """What a final branch (save or notify) did."""

    DONE = "done"
    """It completed."""
    SKIPPED = "skipped"
    """It was not asked for, or nothing was configured."""
    ALREADY_DONE = "already_done"
    """A previous attempt had completed it; nothing was repeated."""
    FAILED = "failed"
    """It failed after its retries; ``detail`` says why."""


@attrs.frozen(kw_only=True)
class BranchOutcome:
    """The result of the save or the notification branch."""

    status: BranchStatus
    """What happened."""
    detail: str = ""
    """Where it went, or why it failed."""


@attrs.frozen(kw_only=True)
class StepProgress:
    """One completed step of the workflow, for progress reporting."""

    step: str
    """The activity name suffix, e.g. ``fetch_ga4_data``."""
    finished_at: datetime.datetime
    """Workflow time when the step finished."""
    detail: str = ""
    """A short summary, e.g. ``12,400 rows in 2 pages``."""


@attrs.frozen(kw_only=True)
class AnalysisOutcome:
    """What the workflow returns."""

    analysis_id: str
    """Stable ID of the analysis (the workflow ID)."""
    property_id: str
    """The numeric GA4 property ID."""
    period: Period
    """The days analysed."""
    insights: ButtonInsights
    """The insights document."""
    saved: BranchOutcome
    """What the save branch did."""
    notified: BranchOutcome
    """What the notification branch did."""
    rows_read: int = 0
    """GA4 rows read."""
    pages_fetched: int = 0
    """GA4 pages fetched."""
    alerted: BranchOutcome = attrs.field(
        factory=lambda: BranchOutcome(status=BranchStatus.SKIPPED)
    )
    """What the change-alert branch did."""


@attrs.frozen(kw_only=True)
class PropertiesRequest:
    """Analyse several GA4 properties, each in a child workflow."""

    property_ids: tuple[str, ...]
    """The numeric GA4 property IDs."""
    days_back: int = 7
    """Complete days to analyse, ending the day before ``report_date``."""
    start_date: datetime.date | None = None
    """First day, when an explicit period is wanted."""
    end_date: datetime.date | None = None
    """Last day (inclusive), when an explicit period is wanted."""
    report_date: datetime.date | None = None
    """The day the analyses are for; defaults as in :class:`AnalysisRequest`."""
    time_zone: str = "UTC"
    """The properties' reporting time zone."""
    notify: bool = True
    """Send notifications after each analysis."""
    max_concurrent: int = 3
    """Analyses running at once. GA4 quotas are per property, but the fetches
    share the worker and the network."""


@attrs.frozen(kw_only=True)
class PropertyResult:
    """How one property's analysis ended."""

    property_id: str
    """The property as given."""
    succeeded: bool
    """True when the analysis completed."""
    outcome: AnalysisOutcome | None = None
    """The outcome when it completed."""
    error: str | None = None
    """Why it failed, when it did."""
    workflow_id: str = ""
    """The child workflow's ID."""
