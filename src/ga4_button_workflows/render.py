"""Render an insights document for people: plain text and Markdown.

Plain text suits the console, e-mail bodies and logs; Markdown suits Slack,
issue trackers and the docs. Both show the picks, the summary, the
recommendations, the comparisons with their intervals and the caveats, and
never print a rate that could not be computed as 0%.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ga4_button_workflows._text import MISSING, p_value, percent, signed_percent
from ga4_button_workflows.models import (
    ButtonInsights,
    ButtonMetrics,
    TrendPoint,
    VariantComparison,
)
from ga4_button_workflows.stats import Interval
from ga4_button_workflows.trends import describe_change

__all__ = ["describe_button", "render_markdown", "render_text"]


def _signed_points(value: float) -> str:
    return f"{value * 100.0:+.1f} pt"


def _chance(probability: float) -> str:
    if probability > 0.99:
        return "over 99%"
    if probability < 0.01:
        return "under 1%"
    return f"{probability * 100:.0f}%"


def _count(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return MISSING if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _effect(comparison: VariantComparison) -> tuple[str, str]:
    """Return the effect and its interval, as lift when defined, else points."""
    lift = comparison.relative_lift
    interval: Interval | None = comparison.lift_interval
    if lift is not None and interval is not None:
        return (
            signed_percent(lift),
            f"{signed_percent(interval.lower)} to {signed_percent(interval.upper)}",
        )
    difference = comparison.difference
    interval = comparison.difference_interval
    if difference is not None and interval is not None:
        return (
            _signed_points(difference),
            f"{_signed_points(interval.lower)} to {_signed_points(interval.upper)}",
        )
    return MISSING, MISSING


def _comparison_row(comparison: VariantComparison) -> list[str]:
    effect, interval = _effect(comparison)
    return [
        comparison.button,
        f"{comparison.variant} vs {comparison.control_variant}",
        f"{percent(comparison.variant_rate)} vs {percent(comparison.control_rate)}",
        effect,
        interval,
        p_value(comparison.adjusted_p_value),
        comparison.verdict.value.replace("_", " "),
    ]


_COMPARISON_HEADER = [
    "Button",
    "Variant",
    "CTR",
    "Lift",
    "Interval",
    "Adj. p",
    "Verdict",
]


def _headline(insights: ButtonInsights) -> list[tuple[str, str]]:
    probability = insights.most_engaging_variant_probability
    variant = insights.most_engaging_variant or MISSING
    if insights.most_engaging_variant and probability is not None:
        variant = f"{variant} ({_chance(probability)} chance of being best)"
    return [
        ("Property", insights.property_id or MISSING),
        ("Period", str(insights.period) if insights.period else MISSING),
        ("Best performing button", insights.best_performing_button or MISSING),
        ("Worst performing button", insights.worst_performing_button or MISSING),
        ("Most engaging variant", variant),
    ]


def _summary(insights: ButtonInsights) -> list[tuple[str, str]]:
    summary = insights.performance_summary
    if summary.get("has_data") is False or not summary.get("total_buttons_analyzed"):
        return [("Data", "no data for the period")]
    score = summary.get("average_engagement_score")
    return [
        ("Buttons analysed", _count(summary.get("total_buttons_analyzed"))),
        ("With enough data", _count(summary.get("buttons_with_enough_data"))),
        ("Average engagement score", MISSING if score is None else f"{score:.2f}"),
        ("Most clicked", _count(summary.get("most_clicked_button"))),
        ("Highest CTR", _count(summary.get("highest_ctr_button"))),
        ("Exposed users", _count(summary.get("total_exposed_users"))),
        ("Clicking users", _count(summary.get("total_clicking_users"))),
        ("Clicks", _count(summary.get("total_click_events"))),
        ("Hovers", _count(summary.get("total_hover_events"))),
    ]


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [
        max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return [line(header), line(["-" * width for width in widths])] + [
        line(row) for row in rows
    ]


def describe_button(
    metrics: ButtonMetrics, *, dash: str = "\u2013", separator: str = " \u00b7 "
) -> str:
    """Return a button's numbers in one line: CTR, interval, users, engagement.

    Digits and punctuation only, so it needs no escaping; ``dash`` and
    ``separator`` let HTML use entities.
    """
    parts: list[str] = []
    if metrics.click_through_rate is not None:
        ctr = f"CTR {metrics.click_through_rate:.1%}"
        interval = metrics.click_through_interval
        if interval is not None:
            ctr += f" (95% CI {interval.lower:.1%}{dash}{interval.upper:.1%})"
        parts.append(ctr)
    if metrics.exposed_users is not None:
        parts.append(f"{metrics.clicking_users:,} of {metrics.exposed_users:,} users")
    else:
        parts.append(f"{metrics.clicking_users:,} clicking users")
    parts.append(f"engagement {metrics.engagement_score:.2f}")
    return separator.join(parts)


def render_text(insights: ButtonInsights) -> str:
    """Return a plain-text summary of ``insights``.

    Args:
        insights: The insights document.

    Returns:
        Lines of text without trailing newline: the picks, any selection note,
        the summary, the recommendations, the comparisons and the caveats.
    """
    headline = _headline(insights)
    width = max(len(label) for label, _ in headline) + 1
    lines = [f"{label + ':':<{width}} {value}" for label, value in headline]
    if insights.selection_note:
        lines.append(f"Note: {insights.selection_note}")

    lines.append("")
    lines.append("Summary:")
    lines.extend(f"  {label}: {value}" for label, value in _summary(insights))

    lines.append("")
    lines.append("Recommendations:")
    if insights.recommendations:
        lines.extend(f"  {text}" for text in insights.recommendations)
    else:
        lines.append("  none")

    if insights.comparisons:
        lines.append("")
        lines.append("Comparisons with the control:")
        table = _text_table(
            _COMPARISON_HEADER,
            [_comparison_row(comparison) for comparison in insights.comparisons],
        )
        lines.extend(f"  {row}" for row in table)

    lines.extend(_trend_lines(insights))

    if insights.caveats:
        lines.append("")
        lines.append("Caveats:")
        lines.extend(f"  - {caveat}" for caveat in insights.caveats)
    return "\n".join(lines)


def _trend_lines(insights: ButtonInsights) -> list[str]:
    """The change findings and, per daily series, its first and last rate."""
    lines: list[str] = []
    if insights.changes:
        since = insights.changes[0].previous_period
        lines += ["", f"Changes since {since}:"]
        lines.extend(
            f"  {'ALERT-SIZED ' if finding.alert else ''}{describe_change(finding)}"
            for finding in insights.changes
        )
    elif insights.changes_since is not None:
        lines += [
            "",
            f"No significant click-through change since {insights.changes_since}.",
        ]
    series: dict[str, list[TrendPoint]] = {}
    for point in insights.trend:
        if point.click_through_rate is not None:
            series.setdefault(f"{point.button} on {point.variant}", []).append(point)
    if series:
        lines += ["", "Daily click-through (first and last day with data):"]
        for label, points in sorted(series.items()):
            points.sort(key=lambda point: point.date)
            first, last = points[0], points[-1]
            lines.append(
                f"  {label}: {percent(first.click_through_rate)} on {first.date} -> "
                f"{percent(last.click_through_rate)} on {last.date} "
                f"({len(points)} day{'' if len(points) == 1 else 's'})"
            )
    return lines


def _markdown_cell(text: str) -> str:
    # GA4 names are user-controlled: no raw HTML, no links, no broken tables.
    escaped = html.escape(text, quote=False)
    for special in ("[", "]", "|"):
        escaped = escaped.replace(special, "\\" + special)
    return escaped.replace("\n", " ")


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|"] + [
        line(row) for row in rows
    ]


def render_markdown(insights: ButtonInsights) -> str:
    """Return ``insights`` as Markdown (GitHub flavour: tables, lists).

    Args:
        insights: The insights document.

    Returns:
        A Markdown document without trailing newline: a heading, the picks, the
        summary, the recommendations, a comparisons table and the caveats.
    """
    period = f" ({insights.period})" if insights.period else ""
    lines = [f"## Button insights{period}", ""]
    lines.extend(
        f"- **{label}:** {_markdown_cell(value)}"
        for label, value in _headline(insights)
    )
    if insights.selection_note:
        lines.extend(["", f"> {_markdown_cell(insights.selection_note)}"])

    lines.extend(["", "### Summary", ""])
    lines.extend(_markdown_table(["Measure", "Value"], _summary(insights)))

    lines.extend(["", "### Recommendations", ""])
    if insights.recommendations:
        lines.extend(f"- {_markdown_cell(text)}" for text in insights.recommendations)
    else:
        lines.append("- none")

    if insights.comparisons:
        lines.extend(["", "### Comparisons with the control", ""])
        lines.extend(
            _markdown_table(
                _COMPARISON_HEADER,
                [_comparison_row(comparison) for comparison in insights.comparisons],
            )
        )

    if insights.caveats:
        lines.extend(["", "### Caveats", ""])
        lines.extend(f"- {_markdown_cell(caveat)}" for caveat in insights.caveats)
    return "\n".join(lines)
