"""What the dashboard shows, computed from one saved analysis.

Pure: an :class:`~ga4_button_workflows.models.AnalysisRecord` in, plain
records of strings and chart geometry out. The template only lays them out.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ga4_button_workflows.contrib.flask._charts import (
    VERDICT_LABELS,
    CtrChart,
    ForestChart,
    TrendChart,
    TrendPoint,
    TrendSeries,
    ctr_chart,
    forest_chart,
    percent,
    trend_chart,
)
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonInsights,
    ButtonMetrics,
    ChangeDirection,
    Verdict,
)
from ga4_button_workflows.models import TrendPoint as ModelTrendPoint
from ga4_button_workflows.trends import describe_change

__all__ = [
    "STEPS",
    "ChangeItem",
    "Dashboard",
    "PickCard",
    "RecommendationItem",
    "VerdictCount",
    "build_dashboard",
    "trend_series",
]

STEPS = (
    ("fetch_ga4_data", "Fetch GA4 data"),
    ("process_button_metrics", "Compute metrics"),
    ("generate_button_insights", "Generate insights"),
    ("save_insights_to_database", "Save insights"),
    ("send_insights_notification", "Send notification"),
)
"""The workflow's steps in order, with the names the progress panel shows."""

_SHOWN_RECOMMENDATIONS = 6
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Mn", "Cf"})
_TONES = {
    "significant_winner": "good",
    "performing_excellently": "good",
    "significant_loser": "warn",
    "needs_improvement": "warn",
    "unconfirmed_difference": "warn",
    "check_tracking": "warn",
    "data_quality": "warn",
    "sample_ratio_mismatch": "warn",
    "no_data": "warn",
    "no_exposure_event": "warn",
    "inconclusive": "neutral",
    "comparisons_need_data": "neutral",
    "not_enough_data": "neutral",
}


@attrs.frozen(kw_only=True)
class PickCard:
    """A headline card: the best button, the worst one, the best variant."""

    testid: str
    title: str
    value: str | None
    details: tuple[str, ...] = ()
    note: str | None = None
    tone: str = "neutral"


@attrs.frozen(kw_only=True)
class RecommendationItem:
    """One recommendation sentence and how to color it."""

    text: str
    tone: str


@attrs.frozen(kw_only=True)
class ChangeItem:
    """One change finding, in words, and whether it was alerted."""

    text: str
    tone: str
    alert: bool


@attrs.frozen(kw_only=True)
class VerdictCount:
    """How many comparisons reached one verdict."""

    verdict: str
    label: str
    count: int


@attrs.frozen(kw_only=True)
class Dashboard:
    """Everything the dashboard page shows about one analysis."""

    analysis_id: str
    property_id: str
    period: str
    days: int | None
    generated_at: str
    saved_at: str
    picks: tuple[PickCard, ...]
    summary: tuple[tuple[str, str], ...]
    recommendations: tuple[RecommendationItem, ...]
    more_recommendations: tuple[RecommendationItem, ...]
    caveats: tuple[str, ...]
    selection_note: str | None
    verdicts: tuple[VerdictCount, ...]
    inconclusive_note: str | None
    ctr: CtrChart | None
    forest: ForestChart | None
    trends: TrendChart | None
    changes_heading: str | None
    changes: tuple[ChangeItem, ...]
    comparisons_table: tuple[tuple[str, ...], ...]
    buttons_table: tuple[tuple[str, ...], ...]


def _moment(value: datetime.datetime) -> str:
    utc = value.astimezone(datetime.timezone.utc)
    return f"{utc:%Y-%m-%d %H:%M} UTC"


def _count(value: object) -> str:
    if value is None or isinstance(value, bool):
        return "-" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _metrics_for(insights: ButtonInsights, label: str | None) -> ButtonMetrics | None:
    if label is None:
        return None
    return next((entry for entry in insights.buttons if entry.label == label), None)


def _button_details(entry: ButtonMetrics | None) -> tuple[str, ...]:
    if entry is None:
        return ()
    details = []
    if entry.click_through_rate is not None:
        interval = entry.click_through_interval
        bounds = (
            ""
            if interval is None
            else f" (95% CI {percent(interval.lower)} to {percent(interval.upper)})"
        )
        details.append(f"CTR {percent(entry.click_through_rate)}{bounds}")
    if entry.exposed_users is not None:
        details.append(
            f"{entry.clicking_users:,} of {entry.exposed_users:,} exposed users clicked"
        )
    details.append(f"Engagement score {entry.engagement_score:.2f}")
    return tuple(details)


def _picks(insights: ButtonInsights) -> tuple[PickCard, ...]:
    note = insights.selection_note
    best = insights.best_performing_button
    worst = insights.worst_performing_button
    variant = insights.most_engaging_variant
    variant_details: list[str] = []
    probability = insights.most_engaging_variant_probability
    if variant is not None and probability is not None:
        chance = (
            "over 99%"
            if probability > 0.99
            else "under 1%"
            if probability < 0.01
            else f"{probability * 100:.0f}%"
        )
        variant_details.append(f"{chance} chance of having the highest CTR")
    standing = next((s for s in insights.variants if s.variant == variant), None)
    if standing is not None and standing.click_through_rate is not None:
        variant_details.append(
            f"CTR over all its buttons {percent(standing.click_through_rate)}"
        )
    return (
        PickCard(
            testid="best-button",
            title="Best performing button",
            value=best,
            details=_button_details(_metrics_for(insights, best)),
            note=None if best else note or "No button has enough data to be named.",
            tone="good",
        ),
        PickCard(
            testid="worst-button",
            title="Worst performing button",
            value=worst,
            details=_button_details(_metrics_for(insights, worst)),
            note=None if worst else note or "No second button has enough data.",
            tone="warn",
        ),
        PickCard(
            testid="most-engaging-variant",
            title="Most engaging variant",
            value=variant,
            details=tuple(variant_details),
            note=None if variant else "Fewer than two variants have enough data.",
            tone="info",
        ),
    )


def _summary(
    summary: Mapping[str, Any], insights: ButtonInsights
) -> list[tuple[str, str]]:
    if summary.get("has_data") is False or not summary.get("total_buttons_analyzed"):
        return [("Data", "no button events in this period")]
    rows = [
        ("Button x variant entries", _count(summary.get("total_buttons_analyzed"))),
        ("With enough data", _count(summary.get("buttons_with_enough_data"))),
        ("Exposed users", _count(summary.get("total_exposed_users"))),
        ("Clicking users", _count(summary.get("total_clicking_users"))),
        ("Clicks", _count(summary.get("total_click_events"))),
        ("Hovers", _count(summary.get("total_hover_events"))),
        ("Average engagement score", _count(summary.get("average_engagement_score"))),
        ("Most clicked", _count(summary.get("most_clicked_button"))),
    ]
    if insights.comparisons:
        significant = sum(
            1
            for comparison in insights.comparisons
            if comparison.verdict in (Verdict.BETTER, Verdict.WORSE)
        )
        rows.append(
            ("Significant comparisons", f"{significant} of {len(insights.comparisons)}")
        )
    srm = summary.get("srm_status")
    if srm is not None:
        rows.append(("Sample-ratio check", _count(srm).replace("_", " ")))
    return rows


def _without_symbol_prefix(text: str) -> str:
    """Drop the leading emoji (✅ ⚠️ 💡 🎯): the card's color says the same.

    Emoji fonts are missing on many servers and some desktops, where the
    prefix would show as an empty box.
    """
    start = 0
    while start < len(text) and (
        text[start].isspace() or unicodedata.category(text[start]) in _SYMBOL_CATEGORIES
    ):
        start += 1
    return text[start:] or text


def _recommendations(insights: ButtonInsights) -> list[RecommendationItem]:
    if insights.recommendation_details:
        return [
            RecommendationItem(
                text=_without_symbol_prefix(item.text),
                tone=_TONES.get(item.kind, "info"),
            )
            for item in insights.recommendation_details
        ]
    return [
        RecommendationItem(text=_without_symbol_prefix(text), tone="info")
        for text in insights.recommendations
    ]


def _changes_heading(insights: ButtonInsights) -> str | None:
    since = insights.changes_since
    if since is None and insights.changes:
        since = insights.changes[0].previous_period
    if since is None:
        return None
    period = f"{since.start:%Y-%m-%d} to {since.end:%Y-%m-%d}"
    if insights.changes:
        return f"Click-through changes since {period}"
    return f"No significant click-through change since {period}."


def _verdicts(insights: ButtonInsights) -> tuple[tuple[VerdictCount, ...], str | None]:
    counts = Counter(comparison.verdict for comparison in insights.comparisons)
    tally = tuple(
        VerdictCount(verdict=verdict.value, label=VERDICT_LABELS[verdict], count=count)
        for verdict in Verdict
        if (count := counts.get(verdict, 0))
    )
    total = len(insights.comparisons)
    unsettled = counts.get(Verdict.INCONCLUSIVE, 0)
    short = counts.get(Verdict.NOT_ENOUGH_DATA, 0)
    notes = []
    if unsettled:
        notes.append(
            f"{unsettled} of {total} comparisons are inconclusive: their intervals "
            "include no change after correcting for multiple comparisons, so do not "
            "act on them yet"
        )
    if short:
        notes.append(
            f"{short} of {total} comparisons have not enough data for any conclusion"
        )
    return tally, ("; ".join(notes) + ".") if notes else None


def _comparisons_table(insights: ButtonInsights) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for comparison in insights.comparisons:
        interval = comparison.lift_interval
        rows.append(
            (
                comparison.button,
                f"{comparison.variant} vs {comparison.control_variant}",
                f"{percent(comparison.variant_rate)} vs "
                f"{percent(comparison.control_rate)}",
                "-"
                if comparison.relative_lift is None
                else f"{comparison.relative_lift * 100:+.1f}%",
                "-"
                if interval is None
                else f"{interval.lower * 100:+.1f}% to {interval.upper * 100:+.1f}%",
                "-"
                if comparison.adjusted_p_value is None
                else f"{comparison.adjusted_p_value:.3g}",
                VERDICT_LABELS[comparison.verdict],
            )
        )
    return rows


def _buttons_table(insights: ButtonInsights) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for entry in insights.buttons:
        interval = entry.click_through_interval
        rows.append(
            (
                entry.button,
                entry.variant,
                _count(entry.exposed_users),
                _count(entry.clicking_users),
                percent(entry.click_through_rate),
                "-"
                if interval is None
                else f"{percent(interval.lower)} to {percent(interval.upper)}",
                f"{entry.engagement_score:.2f}",
                "yes" if entry.enough_data else "no",
            )
        )
    return rows


def trend_series(points: Sequence[ModelTrendPoint]) -> tuple[TrendSeries, ...]:
    """Group daily points into one click-through series per button x variant.

    A day without data stays a gap.
    """
    grouped: dict[str, list[TrendPoint]] = {}
    for point in sorted(points, key=lambda p: (p.button, p.variant, p.date)):
        label = f"{point.button} on {point.variant}"
        grouped.setdefault(label, []).append(
            TrendPoint(day=point.date, value=point.click_through_rate)
        )
    return tuple(
        TrendSeries(label=label, points=tuple(series))
        for label, series in grouped.items()
    )


def build_dashboard(
    record: AnalysisRecord, *, daily: Sequence[TrendSeries] | None = None
) -> Dashboard:
    """Compute the dashboard of one saved analysis.

    Args:
        record: The analysis as the store keeps it.
        daily: Daily series for the trends chart; by default the analysis's own
            trend. The chart says there is no daily data when there is none.
    """
    insights = record.insights
    if daily is None:
        daily = trend_series(insights.trend)
    period = insights.period or record.period
    control = insights.performance_summary.get("control_variant")
    if not isinstance(control, str):
        control = next((c.control_variant for c in insights.comparisons), None)
    variant_order = [standing.variant for standing in insights.variants]
    if control is not None:
        variant_order = [control, *(v for v in variant_order if v != control)]

    recommendations = _recommendations(insights)
    verdicts, inconclusive_note = _verdicts(insights)
    return Dashboard(
        analysis_id=record.analysis_id,
        property_id=record.property_id or insights.property_id,
        period=(
            "-"
            if period is None
            else f"{period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}"
        ),
        days=None if period is None else period.days,
        generated_at=_moment(insights.timestamp),
        saved_at=_moment(record.saved_at),
        picks=_picks(insights),
        summary=tuple(_summary(insights.performance_summary, insights)),
        recommendations=tuple(recommendations[:_SHOWN_RECOMMENDATIONS]),
        more_recommendations=tuple(recommendations[_SHOWN_RECOMMENDATIONS:]),
        caveats=insights.caveats,
        selection_note=insights.selection_note,
        verdicts=verdicts,
        inconclusive_note=inconclusive_note,
        ctr=ctr_chart(
            insights.buttons, control_variant=control, variant_order=variant_order
        ),
        forest=forest_chart(insights.comparisons, variant_order=variant_order),
        trends=trend_chart(daily),
        changes_heading=_changes_heading(insights),
        changes=tuple(
            ChangeItem(
                text=describe_change(finding),
                tone="warn" if finding.direction is ChangeDirection.DROP else "good",
                alert=finding.alert,
            )
            for finding in insights.changes
        ),
        comparisons_table=tuple(_comparisons_table(insights)),
        buttons_table=tuple(_buttons_table(insights)),
    )
