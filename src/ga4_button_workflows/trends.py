"""Trends and change alerts: daily series and period-over-period changes.

Pure functions only: no Temporal, GA4, SQL or HTTP imports, so the module can
be passed through the workflow sandbox like :mod:`~ga4_button_workflows.metrics`.

Daily series
    One :class:`TrendPoint` per day, button and page variant, with the day's
    click-through rate and its Wilson interval. A day without a row is a gap:
    it is left out, never filled with zeros. The property's current day is
    still collecting data, so it is left out unless the configuration asks for
    it. When the same day of a series appears more than once, the last one wins:
    GA4 restates recent days, and a restated day replaces the earlier numbers
    instead of adding to them.

Period over period
    Each button x variant present in both periods is compared with
    :func:`~ga4_button_workflows.stats.compare_proportions`, the previous period
    as the control. The comparisons that pass the data gates form one family,
    adjusted with Holm's procedure, so ``TrendConfig.alpha`` bounds the chance
    that an analysis reports any change at all when nothing changed. A
    significant comparison is a :class:`ChangeFinding`, with the interval of
    its relative change on the log scale.

    A finding alerts when the change is also, with confidence, larger than
    ``TrendConfig.min_relative_change``: the one-sided p-values of "the change
    is at most that size" (:func:`~ga4_button_workflows.stats.ratio_beyond_p_value`)
    form a second Holm family at ``alpha``. So ``alpha`` bounds the chance that
    an analysis alerts on any button whose true change is smaller than the
    alert size, nothing changed or not.

Alerts
    :func:`alerts_to_send` picks the findings to tell people about, once each:
    the same change seen again (an overlapping comparison) is alerted again
    only when it grew by at least ``TrendConfig.worsen_margin``; a change in a
    comparison that cannot hold the one alerted is new and alerts.
    :func:`render_alert_text` writes the message.

Users are not additive, so period totals cannot be rebuilt from daily rows:
the previous period's counts come from GA4 (``ButtonReport.previous_counts``)
or from the previous stored analysis (see :func:`baseline_for`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence

import attrs

from ga4_button_workflows import _checks
from ga4_button_workflows._text import p_phrase, percent, signed_percent
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonCounts,
    ButtonMetrics,
    ButtonReport,
    ChangeDirection,
    ChangeFinding,
    DailyCounts,
    Period,
    SentAlert,
    TrendPoint,
    is_placeholder,
)
from ga4_button_workflows.stats import (
    DEFAULT_MIN_SUCCESSES,
    DEFAULT_MIN_TRIALS,
    ProportionComparison,
    PValueAdjustment,
    adjust_p_values,
    compare_proportions,
    ratio_beyond_p_value,
    ratio_change_interval,
    reject_hypotheses,
    wilson_interval,
)

__all__ = [
    "Baseline",
    "ChangeAlert",
    "ChangeDirection",
    "ChangeFinding",
    "SentAlert",
    "TrendConfig",
    "TrendPoint",
    "alert_key",
    "alerts_to_send",
    "baseline_for",
    "comparable_series",
    "daily_series",
    "describe_change",
    "period_over_period",
    "previous_period_of",
    "render_alert_text",
]

_WORSEN_TOLERANCE = 1e-9
"""Slack in the worsening test: 0.35 - 0.30 counts as a growth of 0.05, and a
change recomputed from its rates as the same change."""


# --- Models ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TrendConfig:
    """How trends are drawn and when a change becomes a finding or an alert."""

    alpha: float = attrs.field(default=0.05, validator=_checks.open_unit)
    """False-alarm rate per analysis: the family-wise error rate (Holm) of all
    the period-over-period comparisons of one analysis, for findings (a change
    where there was none) and for alerts (a change larger than
    ``min_relative_change`` where it was smaller)."""
    min_relative_change: float = attrs.field(
        default=0.10, validator=_checks.non_negative_finite
    )
    """Relative change, in either direction, that a finding must exceed with
    confidence to alert (0.10 = 10%): the test that it does is corrected for
    every button that may alert, at ``alpha``. Smaller or less certain
    significant changes are findings without an alert. At 1 or more, only
    rises can alert."""
    min_trials: int = attrs.field(default=DEFAULT_MIN_TRIALS, validator=_checks.count)
    """Exposed users each period needs before a change may be found."""
    min_successes: int = attrs.field(
        default=DEFAULT_MIN_SUCCESSES, validator=_checks.count
    )
    """Clicking users, and non-clicking users, the two periods need together."""
    confidence: float = attrs.field(default=0.95, validator=_checks.open_unit)
    """Confidence level of every interval, e.g. 0.95 for 95%."""
    max_series: int = attrs.field(default=10, validator=_checks.positive)
    """Button x variant series kept in a trend, the largest by exposure events;
    bounds the size of the insights document."""
    max_days: int = attrs.field(default=31, validator=_checks.positive)
    """Most recent days kept per series in a trend; with ``max_series`` it bounds
    the document (about 210 bytes a point). The store keeps every day."""
    include_partial_day: bool = attrs.field(default=False, validator=_checks.flag)
    """Keep the property's current day, which is still collecting data."""
    worsen_margin: float = attrs.field(
        default=0.05, validator=_checks.non_negative_finite
    )
    """How much larger, in absolute relative change (0.05 = 5 points) from the
    rate before the change, a change already alerted must grow before it is
    alerted again."""


_DEFAULT_CONFIG = TrendConfig()


@attrs.frozen(kw_only=True)
class ChangeAlert:
    """What an alert-capable notifier is asked to deliver."""

    key: str
    """The finding's :func:`alert_key`; stable from one analysis to the next."""
    property_id: str
    """The numeric GA4 property ID."""
    analysis_id: str
    """The analysis that found the change."""
    finding: ChangeFinding
    """The change, with its numbers."""
    text: str
    """The message in plain text (:func:`render_alert_text`); notifiers escape
    it for their medium."""
    analysis_url: str | None = None
    """Where people can open the analysis, when the host has such a page."""


@attrs.frozen(kw_only=True)
class Baseline:
    """The counts an analysis is compared with."""

    period: Period
    """The days the counts cover: the equally long period just before."""
    counts: tuple[ButtonCounts, ...]
    """Counts per button x variant over ``period``."""
    analysis_id: str | None = None
    """The stored analysis the counts come from; None when GA4 supplied them."""


# --- Daily series -------------------------------------------------------------------


def daily_series(
    daily: Iterable[DailyCounts],
    *,
    today: datetime.date | None,
    config: TrendConfig | None = None,
) -> tuple[TrendPoint, ...]:
    """Return the daily click-through series of the largest buttons.

    Days without a row stay gaps. When a day of a series appears more than
    once, the last row wins, so ``[*stored_rows, *fresh_rows]`` gives the
    restated numbers. Only the last ``config.max_days`` days (counted back from
    the latest day kept) and, over them, the ``config.max_series`` series with
    the most exposure events (then click events) are kept; series whose button
    or variant is a placeholder such as ``(not set)`` come after the real ones.

    Args:
        daily: Daily counts, in any order.
        today: The current day in the property's time zone. Days after it are
            dropped, and so is ``today`` itself unless
            ``config.include_partial_day``. None drops nothing (a report of
            past days).
        config: Trend settings; the defaults when None.

    Returns:
        The points, sorted by button, variant and date.
    """
    config = _checked_config(config)
    if today is not None and (
        isinstance(today, datetime.datetime) or not isinstance(today, datetime.date)
    ):
        raise TypeError(
            f"today must be a datetime.date or None, got {type(today).__name__} "
            f"{today!r}"
        )
    series = _last_days(_complete_days(daily, today, config), config.max_days)

    ranked = sorted(series, key=lambda key: _volume_rank(key, series[key].values()))
    return tuple(
        _trend_point(series[key][day], config)
        for key in sorted(ranked[: config.max_series])
        for day in sorted(series[key])
    )


_Series = dict[tuple[str, str], dict[datetime.date, DailyCounts]]


def _complete_days(
    daily: Iterable[DailyCounts], today: datetime.date | None, config: TrendConfig
) -> _Series:
    """Group rows by series and day, the last row of a day winning."""
    series: _Series = {}
    for row in daily:
        if today is not None and (
            row.date > today or (row.date == today and not config.include_partial_day)
        ):
            continue
        series.setdefault((row.button, row.variant), {})[row.date] = row
    return series


def _last_days(series: _Series, max_days: int) -> _Series:
    latest = max((day for days in series.values() for day in days), default=None)
    if latest is None:
        return series
    first = latest - datetime.timedelta(days=max_days - 1)
    recent = {
        key: {day: row for day, row in days.items() if day >= first}
        for key, days in series.items()
    }
    return {key: days for key, days in recent.items() if days}


def _volume_rank(
    key: tuple[str, str], rows: Iterable[DailyCounts]
) -> tuple[bool, int, int, tuple[str, str]]:
    rows = list(rows)
    placeholder = is_placeholder(key[0]) or is_placeholder(key[1])
    exposures = sum(row.exposure_events for row in rows)
    clicks = sum(row.click_events for row in rows)
    return placeholder, -exposures, -clicks, key


def _trend_point(row: DailyCounts, config: TrendConfig) -> TrendPoint:
    exposed = row.exposed_users
    rate = None
    interval = None
    if exposed:
        clicking = min(row.clicking_users, exposed)
        rate = clicking / exposed
        interval = wilson_interval(clicking, exposed, config.confidence)
    return TrendPoint(
        date=row.date,
        button=row.button,
        variant=row.variant,
        exposed_users=exposed,
        clicking_users=row.clicking_users,
        click_through_rate=rate,
        interval=interval,
    )


# --- Period over period ---------------------------------------------------------------


def previous_period_of(period: Period) -> Period:
    """Return the equally long period that ends the day before ``period`` starts."""
    end = period.start - datetime.timedelta(days=1)
    return Period(end - datetime.timedelta(days=period.days - 1), end)


def baseline_for(
    report: ButtonReport, previous_analysis: AnalysisRecord | None = None
) -> Baseline | None:
    """Return what ``report`` should be compared with, or None.

    GA4's own counts of the previous period (``report.previous_counts``) win:
    they include any restatement. Otherwise the previous stored analysis of the
    property serves, when it covered exactly the equally long period just
    before ``report.period``; its counts are those the document kept (the
    largest buttons when there were many).

    Args:
        report: The analysis' report.
        previous_analysis: The property's latest stored analysis before this
            one, e.g. ``await store.latest_analysis(property_id)``.

    Returns:
        The baseline, or None when neither source covers the right period.
    """
    wanted = previous_period_of(report.period)
    if report.previous_period == wanted and report.previous_counts:
        return Baseline(period=wanted, counts=report.previous_counts)
    if (
        previous_analysis is not None
        and previous_analysis.property_id == report.property_id
        and previous_analysis.period == wanted
        and previous_analysis.insights.buttons
    ):
        return Baseline(
            period=wanted,
            counts=tuple(_as_counts(m) for m in previous_analysis.insights.buttons),
            analysis_id=previous_analysis.analysis_id,
        )
    return None


def _as_counts(metrics: ButtonMetrics) -> ButtonCounts:
    return ButtonCounts(
        button=metrics.button,
        variant=metrics.variant,
        exposed_users=metrics.exposed_users,
        exposure_events=metrics.exposure_events,
        clicking_users=metrics.clicking_users,
        click_events=metrics.click_events,
        hovering_users=metrics.hovering_users,
        hover_events=metrics.hover_events,
    )


def period_over_period(
    current: Sequence[ButtonCounts],
    previous: Sequence[ButtonCounts],
    *,
    current_period: Period,
    previous_period: Period,
    config: TrendConfig | None = None,
    flagged: bool = False,
) -> tuple[ChangeFinding, ...]:
    """Return the significant changes of click-through rate since the previous period.

    Every button x variant with exposed users in both periods is compared, the
    previous period as the control. The p-values of the comparisons whose status
    allows a decision form one Holm family at ``config.alpha``; a comparison is a
    finding when its adjusted p-value is at most ``config.alpha`` and the rate
    moved. A finding alerts when its ``alert_p_value``, the Holm-adjusted
    p-value that the change is larger than ``config.min_relative_change``, is
    at most ``config.alpha``; never when its button or variant is a
    placeholder, the previous rate was 0 (no relative size), either period
    counts more clicking users than exposed ones (the rate is capped at 100%
    for the finding), or ``flagged``.

    Args:
        current: Counts over ``current_period``.
        previous: Counts over ``previous_period``.
        current_period: The period analysed.
        previous_period: The equally long period just before it.
        config: Trend settings; the defaults when None.
        flagged: GA4 flagged either period's data as thresholded, sampled or
            ``(other)``-collapsed. Findings are still reported; none alerts.

    Returns:
        The findings, sorted by button, variant.

    Raises:
        ValueError: The periods differ in length, or ``previous_period`` does
            not end before ``current_period`` starts.
    """
    config = _checked_config(config)
    if not isinstance(flagged, bool):
        raise TypeError(f"flagged must be True or False, got {flagged!r}")
    _check_periods(current_period, previous_period)
    pending = _comparisons(current, previous, config)
    adjusted = adjust_p_values(
        [result.p_value if result.decision_allowed else None for *_, result in pending],
        PValueAdjustment.HOLM,
    )
    rejected = reject_hypotheses(adjusted, config.alpha)
    # The alert family: is each change larger than the alert size? Only series
    # that may alert at all take part; their names, the flag and whether their
    # counts hold together decide that, not the size of their change.
    alert_p = adjust_p_values(
        [
            ratio_beyond_p_value(_arm(old), _arm(new), config.min_relative_change)
            if result.decision_allowed
            and not flagged
            and _may_alert(old)
            and _may_alert(new)
            else None
            for old, new, result in pending
        ],
        PValueAdjustment.HOLM,
    )
    findings = []
    for (old, new, result), adjusted_p, reject, size_p in zip(
        pending, adjusted, rejected, alert_p, strict=True
    ):
        if not reject or adjusted_p is None or result.p_value is None:
            continue
        if (
            not result.difference
            or result.control_rate is None
            or result.treatment_rate is None
        ):
            continue
        findings.append(
            ChangeFinding(
                button=new.button,
                variant=new.variant,
                direction=(
                    ChangeDirection.DROP
                    if result.difference < 0
                    else ChangeDirection.RISE
                ),
                previous_period=previous_period,
                current_period=current_period,
                previous_rate=result.control_rate,
                current_rate=result.treatment_rate,
                difference=result.difference,
                relative_change=result.relative_lift,
                change_interval=ratio_change_interval(
                    _arm(old), _arm(new), config.confidence
                ),
                p_value=result.p_value,
                adjusted_p_value=adjusted_p,
                alert_p_value=size_p,
                previous_exposed_users=old.exposed_users or 0,
                current_exposed_users=new.exposed_users or 0,
                confidence=config.confidence,
                alert=size_p is not None and size_p <= config.alpha,
            )
        )
    return tuple(findings)


def comparable_series(
    current: Sequence[ButtonCounts],
    previous: Sequence[ButtonCounts],
    *,
    config: TrendConfig | None = None,
) -> int:
    """Return how many button x variant series :func:`period_over_period` can test.

    A series is tested when it has exposed users in both periods and passes the
    data gates (``config.min_trials``, ``config.min_successes``). With none,
    the absence of findings says nothing about change.
    """
    pending = _comparisons(current, previous, _checked_config(config))
    return sum(result.decision_allowed for *_, result in pending)


def _comparisons(
    current: Sequence[ButtonCounts],
    previous: Sequence[ButtonCounts],
    config: TrendConfig,
) -> list[tuple[ButtonCounts, ButtonCounts, ProportionComparison]]:
    """Each series with exposed users in both periods, compared, by name."""
    before = {(counts.button, counts.variant): counts for counts in previous}
    after = {(counts.button, counts.variant): counts for counts in current}
    pending = []
    for key in sorted(after.keys() & before.keys()):
        old, new = before[key], after[key]
        if not old.exposed_users or not new.exposed_users:
            continue
        result = compare_proportions(
            _arm(old),
            _arm(new),
            confidence=config.confidence,
            min_trials=config.min_trials,
            min_successes=config.min_successes,
        )
        pending.append((old, new, result))
    return pending


def _may_alert(counts: ButtonCounts) -> bool:
    """Real names, and no more clicking users than exposed ones."""
    return (
        not is_placeholder(counts.button)
        and not is_placeholder(counts.variant)
        and counts.clicking_users <= (counts.exposed_users or 0)
    )


def _checked_config(config: object) -> TrendConfig:
    if config is None:
        return _DEFAULT_CONFIG
    if not isinstance(config, TrendConfig):
        raise TypeError(
            f"config must be a TrendConfig, got {type(config).__name__} "
            f"{config!r}; build one, e.g. TrendConfig(alpha=0.01)"
        )
    return config


def _check_periods(current: Period, previous: Period) -> None:
    if previous.days != current.days:
        raise ValueError(
            f"the previous period {previous} has {previous.days} days and the "
            f"current period {current} has {current.days}; compare equally long "
            f"periods, e.g. {previous_period_of(current)}"
        )
    if previous.end >= current.start:
        raise ValueError(
            f"the previous period {previous} does not end before the current "
            f"period {current} starts; use {previous_period_of(current)}"
        )


def _arm(counts: ButtonCounts) -> tuple[int, int]:
    trials = counts.exposed_users or 0
    return min(counts.clicking_users, trials), trials


# --- Alerts ---------------------------------------------------------------------


def alert_key(finding: ChangeFinding) -> str:
    """Return the finding's alert key: ``"<button>|<variant>|<direction>"``.

    The key is the same from one analysis to the next, so it says whether the
    change was alerted before. It holds no property ID: stores keep alert state
    per property. A ``|`` or NUL inside a name, and the backslash itself, are
    escaped with a backslash, so two different buttons never share a key and
    every key can be stored.
    """
    button, variant = _escape_key(finding.button), _escape_key(finding.variant)
    return f"{button}|{variant}|{finding.direction.value}"


def _escape_key(name: str) -> str:
    # No NUL either: PostgreSQL text cannot hold it, and the key is stored.
    return name.replace("\\", "\\\\").replace("|", "\\|").replace("\x00", "\\0")


def alerts_to_send(
    findings: Iterable[ChangeFinding],
    already_sent: Mapping[str, SentAlert],
    *,
    config: TrendConfig | None = None,
) -> list[tuple[str, ChangeFinding]]:
    """Return the alerting findings that people have not been told about yet.

    A comparison of two periods sees a change that happened after the first
    day of the earlier period and by the last day of the later one. Against
    the change last alerted for its :func:`alert_key` (``SentAlert.span``), a
    finding with ``alert`` set is due when it was never alerted, when it is a
    newer change, or when it worsened; an older change is not:

    * a newer change: its comparison starts on or after the last day of the
      alerted one, so it cannot hold the change alerted. A drop that recovered
      and came back is alerted again, and so is a further drop in today's
      one-day analysis after yesterday's;
    * an older change: its comparison ends on or before the first day of the
      alerted one (a backfill of earlier days). It is never alerted: people
      were told of a later change already;
    * worsened: the comparisons overlap, so it may be the same change seen
      again (a re-run, next week's comparison with this week, a sliding
      window that still holds the change), and, measured from the rate before
      the alerted change (``SentAlert.previous_rate``), it grew in size by at
      least ``config.worsen_margin`` over the change alerted: with the default
      margin a drop alerted at 6.0% -> 4.2% (-30%) is alerted again at 3.9%
      (-35%), not at 4.0% (-33%), and never at 4.5%. Recording the change only
      when an alert goes out keeps small daily wobbles from adding up to
      repeats.

    Args:
        findings: The analysis' findings.
        already_sent: The property's alert state, key to the alert last sent
            (``TrendStore.sent_alerts``).
        config: Trend settings; the defaults when None.

    Returns:
        ``(key, finding)`` pairs in the order of ``findings``; empty when
        nothing changed, or nothing changed more than already said.
    """
    config = _checked_config(config)
    due: list[tuple[str, ChangeFinding]] = []
    seen: set[str] = set()
    for finding in findings:
        relative = finding.relative_change
        if not finding.alert or relative is None:
            continue
        key = alert_key(finding)
        if key in seen:
            continue
        seen.add(key)
        last = already_sent.get(key)
        if last is None:
            due.append((key, finding))
            continue
        span = last.span
        if span is not None and finding.current_period.end <= span.start:
            continue  # older than the change alerted: a backfill's old news
        if (span is not None and finding.previous_period.start >= span.end) or (
            _worsened(finding, last, config.worsen_margin)
        ):
            due.append((key, finding))
    return due


def _worsened(finding: ChangeFinding, last: SentAlert, margin: float) -> bool:
    """True when the change grew by ``margin`` since it was alerted.

    Both are measured from the rate before the alerted change: a drop alerted
    at 6.0% -> 4.2% (-30%) that shows next week as 4.2% -> 3.4% has grown to
    -43% of the 6.0%. Without that rate, the finding's own change is used.
    """
    if last.previous_rate is None:
        change = finding.relative_change
        if change is None:
            return False
    else:
        change = finding.current_rate / last.previous_rate - 1.0
    growth = (change - last.relative_change) * (
        -1.0 if finding.direction is ChangeDirection.DROP else 1.0
    )
    return growth > _WORSEN_TOLERANCE and growth >= margin - _WORSEN_TOLERANCE


def render_alert_text(
    finding: ChangeFinding,
    *,
    property_id: str,
    analysis_id: str,
    analysis_url: str | None = None,
) -> str:
    """Return the alert as plain text: what changed, by how much, and where to look.

    GA4 names are written as they are; a notifier escapes the text for its
    medium (Slack, HTML).

    Example::

        📉 Click-through rate drop: cta on colors (property 123456789)
        6.0% -> 4.2% (-30%, 95% CI -39% to -19%; adjusted p < 0.001)
        2024-05-22..2024-05-28 (7,000 users exposed) against
        2024-05-15..2024-05-21 (7,000 users exposed)
        Analysis button-analysis-123456789-2024-05-29
    """
    arrow = "📉" if finding.direction is ChangeDirection.DROP else "📈"
    lines = [
        f"{arrow} Click-through rate {finding.direction.value}: {finding.label} "
        f"(property {property_id})",
        f"{percent(finding.previous_rate)} -> {percent(finding.current_rate)} "
        f"({_change_text(finding)}; adjusted p {p_phrase(finding.adjusted_p_value)})",
        f"{finding.current_period} ({finding.current_exposed_users:,} users "
        f"exposed) against {finding.previous_period} "
        f"({finding.previous_exposed_users:,} users exposed)",
        f"Analysis {analysis_id}" + (f": {analysis_url}" if analysis_url else ""),
    ]
    return "\n".join(lines)


def describe_change(finding: ChangeFinding) -> str:
    """Return the finding in one line, for summaries and recommendations.

    For example ``"cta on colors: CTR 6.0% -> 4.2% (-30%, 95% CI -39% to -19%;
    adjusted p < 0.001)"``.
    """
    return (
        f"{finding.label}: CTR {percent(finding.previous_rate)} -> "
        f"{percent(finding.current_rate)} ({_change_text(finding)}; "
        f"adjusted p {p_phrase(finding.adjusted_p_value)})"
    )


def _change_text(finding: ChangeFinding) -> str:
    relative = finding.relative_change
    if relative is None:
        return f"{finding.difference * 100:+.1f} points"
    text = signed_percent(relative)
    interval = finding.change_interval
    if interval is not None:
        text += (
            f", {finding.confidence:.0%} CI {signed_percent(interval.lower)} "
            f"to {signed_percent(interval.upper)}"
        )
    return text
