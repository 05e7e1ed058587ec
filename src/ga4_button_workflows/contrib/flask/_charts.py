"""Chart geometry for the dashboard: pure functions from insights to shapes.

Each function returns plain attrs records with pixel positions in an SVG
``viewBox`` and the strings to print. The Jinja2 templates turn them into
SVG, so every string that came from GA4 is escaped by autoescaping; nothing
here builds markup. No JavaScript charting library is involved.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Sequence

import attrs

from ga4_button_workflows._text import percent, signed_percent
from ga4_button_workflows.models import ButtonMetrics, VariantComparison, Verdict

__all__ = [
    "VERDICT_LABELS",
    "CtrChart",
    "ForestChart",
    "TrendChart",
    "TrendPoint",
    "TrendSeries",
    "ctr_chart",
    "forest_chart",
    "nice_ticks",
    "percent",
    "shorten",
    "signed_percent",
    "trend_chart",
    "variant_colors",
]

_CONTROL_COLOR = "#475569"
_PALETTE = (
    "#2563eb",
    "#ea580c",
    "#059669",
    "#9333ea",
    "#db2777",
    "#0891b2",
    "#ca8a04",
    "#4f46e5",
)
_OTHER_COLOR = "#94a3b8"
VERDICT_COLORS = {
    Verdict.BETTER: "#15803d",
    Verdict.WORSE: "#b91c1c",
    Verdict.INCONCLUSIVE: "#64748b",
    Verdict.NOT_ENOUGH_DATA: "#94a3b8",
}
VERDICT_LABELS = {
    Verdict.BETTER: "better",
    Verdict.WORSE: "worse",
    Verdict.INCONCLUSIVE: "inconclusive",
    Verdict.NOT_ENOUGH_DATA: "not enough data",
}

_WIDTH = 760.0
_GROUP_HEIGHT = 26.0
_ROW_HEIGHT = 24.0
_BAR_HEIGHT = 14.0
_LABEL_CHARS = 22
_GROUP_CHARS = 48
_CHAR_WIDTH = 6.6
"""Rough width of one 12 px character, for laying out legends only."""
_LIFT_FLOOR = -1.0
"""A click-through rate cannot fall by more than 100%."""
_LIFT_CEILING = 3.0
"""Lifts beyond +300% are drawn to the edge with an arrow."""

_Scale = Callable[[float], float]


# --- formatting -----------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _tick_label(value: float, *, signed: bool = False) -> str:
    number = round(value * 100.0, 6)
    text = f"{number:g}%"
    return f"+{text}" if signed and number > 0 else text


_SMALLEST_SPAN = 1e-6
"""Narrower value ranges are widened: a millionth of a rate is not drawable."""


def nice_ticks(lower: float, upper: float, *, count: int = 5) -> list[float]:
    """Round tick values covering ``[lower, upper]``, about ``count`` steps apart.

    Steps are 1, 2, 2.5 or 5 times a power of ten; the first tick is at or
    below ``lower`` and the last at or above ``upper``.
    """
    if not (math.isfinite(lower) and math.isfinite(upper)):
        raise ValueError(f"tick bounds must be finite, got {lower!r}, {upper!r}")
    if upper < lower:
        lower, upper = upper, lower
    if upper - lower < _SMALLEST_SPAN:
        # No visible span (or one too small to divide): widen it to something drawable.
        upper = lower + max(abs(lower), 0.01)
    raw_step = (upper - lower) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    step = next(
        factor * magnitude
        for factor in (1.0, 2.0, 2.5, 5.0, 10.0)
        if factor * magnitude >= raw_step
    )
    # The slack absorbs rounding error (0.3 / 0.1 is 2.9999999999999996), so
    # it adds no tick; it is too small to leave a bound visibly uncovered.
    first = math.floor(lower / step + 1e-12) * step
    last = math.ceil(upper / step - 1e-12) * step
    steps = round((last - first) / step)
    return [round(first + index * step, 12) for index in range(steps + 1)]


def variant_colors(variants: Iterable[str], control: str | None) -> dict[str, str]:
    """One color per variant: slate for the control, the palette for the rest."""
    colors: dict[str, str] = {}
    others = 0
    for variant in variants:
        if variant in colors:
            continue
        if variant == control:
            colors[variant] = _CONTROL_COLOR
        elif others < len(_PALETTE):
            colors[variant] = _PALETTE[others]
            others += 1
        else:
            colors[variant] = _OTHER_COLOR
    return colors


# --- shared records ---------------------------------------------------------------


@attrs.frozen
class Tick:
    """One axis tick: where it is and what it says."""

    position: float
    label: str


@attrs.frozen(kw_only=True)
class LegendItem:
    """A legend entry: a swatch (or a mark kind) and its label."""

    x: float
    y: float
    label: str
    color: str
    kind: str = "swatch"
    """``swatch``, ``whisker``, ``faded``, ``line`` or ``dashed-line``."""


@attrs.frozen(kw_only=True)
class GroupLabel:
    """A button's heading above its rows."""

    y: float
    label: str
    full_label: str


def _legend(
    entries: Sequence[tuple[str, str, str]], *, top: float, left: float = 12.0
) -> tuple[list[LegendItem], float]:
    """Lay ``(label, color, kind)`` entries out in rows; return them and the bottom."""
    items = []
    x, y = left, top
    for label, color, kind in entries:
        width = 26.0 + len(label) * _CHAR_WIDTH + 18.0
        if x + width > _WIDTH and x > left:
            x, y = left, y + 20.0
        items.append(LegendItem(x=x, y=y, label=label, color=color, kind=kind))
        x += width
    return items, y + 20.0


# --- click-through rate per button x variant ---------------------------------------


@attrs.frozen(kw_only=True)
class CtrBar:
    """One button x variant: its bar, its Wilson interval and its labels."""

    button: str
    variant: str
    label: str
    title: str
    y: float
    bar_width: float
    interval_low: float | None
    interval_high: float | None
    text_x: float
    rate_text: str
    users_text: str
    color: str
    enough_data: bool
    is_control: bool


@attrs.frozen(kw_only=True)
class CtrMissing:
    """A button x variant whose click-through rate cannot be computed."""

    label: str
    y: float
    reason: str


@attrs.frozen(kw_only=True)
class CtrChart:
    """Horizontal bars of click-through rate with Wilson interval whiskers."""

    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    label_x: float
    ticks: tuple[Tick, ...]
    groups: tuple[GroupLabel, ...]
    bars: tuple[CtrBar, ...]
    missing: tuple[CtrMissing, ...]
    legend: tuple[LegendItem, ...]
    bar_height: float = _BAR_HEIGHT
    axis_title: str = (
        "Click-through rate: users who clicked / users exposed, "
        "with its Wilson 95% interval"
    )


def _ordered(
    buttons: Sequence[ButtonMetrics], variant_order: Sequence[str]
) -> list[tuple[str, list[ButtonMetrics]]]:
    rank = {variant: index for index, variant in enumerate(variant_order)}
    groups: dict[str, list[ButtonMetrics]] = {}
    for entry in buttons:
        groups.setdefault(entry.button, []).append(entry)
    return [
        (
            button,
            sorted(entries, key=lambda e: (rank.get(e.variant, len(rank)), e.variant)),
        )
        for button, entries in groups.items()
    ]


def ctr_chart(
    buttons: Sequence[ButtonMetrics],
    *,
    control_variant: str | None,
    variant_order: Sequence[str] = (),
) -> CtrChart | None:
    """Lay out one bar per button x variant, grouped by button.

    Args:
        buttons: The insights' button x variant metrics.
        control_variant: The control, drawn in slate and labelled.
        variant_order: The order of variants within a button; the control
            first when empty.

    Returns:
        The chart, or None when there is nothing to draw.
    """
    if not buttons:
        return None
    order = list(variant_order) or [control_variant or ""]
    groups = _ordered(buttons, order)
    present = [entry.variant for _, entries in groups for entry in entries]
    control_first = [control_variant] if control_variant in present else []
    in_order = [variant for variant in order if variant in present]
    colors = variant_colors(
        dict.fromkeys([*control_first, *in_order, *present]), control_variant
    )

    legend_entries = [
        (
            f"{variant} (control)" if variant == control_variant else variant,
            color,
            "swatch",
        )
        for variant, color in colors.items()
    ]
    legend_entries.append(("95% interval", "#0f172a", "whisker"))
    if any(not entry.enough_data for entry in buttons):
        legend_entries.append(("below the data gates", "#64748b", "faded"))
    legend, y = _legend(legend_entries, top=14.0)

    highest = max(
        (
            entry.click_through_interval.upper
            if entry.click_through_interval is not None
            else entry.click_through_rate or 0.0
            for entry in buttons
        ),
        default=0.0,
    )
    ticks = nice_ticks(0.0, max(highest, 0.001))
    domain = ticks[-1]
    plot_left, plot_right = 176.0, 628.0

    def x_of(rate: float) -> float:
        share = min(max(rate / domain, 0.0), 1.0)
        return round(plot_left + share * (plot_right - plot_left), 1)

    plot_top = y + 6.0
    y = plot_top
    group_labels: list[GroupLabel] = []
    bars: list[CtrBar] = []
    missing: list[CtrMissing] = []
    for button, entries in groups:
        group_labels.append(
            GroupLabel(
                y=y + 17.0, label=shorten(button, _GROUP_CHARS), full_label=button
            )
        )
        y += _GROUP_HEIGHT
        for entry in entries:
            label = shorten(entry.variant, _LABEL_CHARS)
            if entry.variant == control_variant:
                label = shorten(entry.variant, _LABEL_CHARS - 10) + " (control)"
            rate = entry.click_through_rate
            if rate is None:
                missing.append(
                    CtrMissing(
                        label=label,
                        y=y,
                        reason="no exposure counted: click-through rate not computable",
                    )
                )
                y += _ROW_HEIGHT
                continue
            interval = entry.click_through_interval
            low = None if interval is None else x_of(interval.lower)
            high = None if interval is None else x_of(interval.upper)
            end = max(x_of(rate), high or 0.0)
            users = (
                ""
                if entry.exposed_users is None
                else f"{entry.clicking_users:,} of {entry.exposed_users:,}"
            )
            interval_text = (
                ""
                if interval is None
                else f" (95% CI {percent(interval.lower)} to {percent(interval.upper)})"
            )
            gate_text = "" if entry.enough_data else "; below the data gates"
            bars.append(
                CtrBar(
                    button=entry.button,
                    variant=entry.variant,
                    label=label,
                    title=(
                        f"{entry.button} on {entry.variant}: CTR {percent(rate)}"
                        f"{interval_text}, {users or 'no exposure count'} users"
                        f"{gate_text}"
                    ),
                    y=y,
                    bar_width=round(x_of(rate) - plot_left, 1),
                    interval_low=low,
                    interval_high=high,
                    text_x=round(end + 8.0, 1),
                    rate_text=percent(rate),
                    users_text=users,
                    color=colors.get(entry.variant, _OTHER_COLOR),
                    enough_data=entry.enough_data,
                    is_control=entry.variant == control_variant,
                )
            )
            y += _ROW_HEIGHT
        y += 4.0
    plot_bottom = y
    return CtrChart(
        width=_WIDTH,
        height=plot_bottom + 46.0,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        label_x=plot_left - 10.0,
        ticks=tuple(Tick(x_of(value), _tick_label(value)) for value in ticks),
        groups=tuple(group_labels),
        bars=tuple(bars),
        missing=tuple(missing),
        legend=tuple(legend),
    )


# --- forest plot of each variant's lift against the control ------------------------


@attrs.frozen(kw_only=True)
class ForestRow:
    """One comparison: its lift, its interval and its verdict."""

    button: str
    variant: str
    label: str
    title: str
    y: float
    point_x: float | None
    low_x: float | None
    high_x: float | None
    clipped_low: bool
    clipped_high: bool
    lift_text: str
    interval_text: str
    verdict: str
    verdict_label: str
    color: str
    note: str


@attrs.frozen(kw_only=True)
class ForestChart:
    """Each variant's relative lift against the control, with its interval."""

    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    label_x: float
    lift_x: float
    verdict_x: float
    zero_x: float
    ticks: tuple[Tick, ...]
    groups: tuple[GroupLabel, ...]
    rows: tuple[ForestRow, ...]
    legend: tuple[LegendItem, ...]
    axis_title: str = "Relative lift in click-through rate against the control"


def _lift_domain(comparisons: Sequence[VariantComparison]) -> list[float]:
    values = [0.0]
    for comparison in comparisons:
        if comparison.relative_lift is not None:
            values.append(comparison.relative_lift)
        if comparison.lift_interval is not None:
            values.extend(
                (comparison.lift_interval.lower, comparison.lift_interval.upper)
            )
    finite = [value for value in values if math.isfinite(value)]
    lower = max(min(finite), _LIFT_FLOOR)
    upper = min(max(finite), _LIFT_CEILING)
    span = max(upper - lower, 0.1)
    return nice_ticks(lower - span * 0.04, upper + span * 0.04, count=6)


def _no_lift_reason(comparison: VariantComparison) -> str:
    if comparison.control_rate == 0.0:
        return "lift not defined: nobody clicked on the control"
    if comparison.control_rate is None or comparison.variant_rate is None:
        return "click-through rate not computable"
    return "not enough data for an interval"


def forest_chart(
    comparisons: Sequence[VariantComparison],
    *,
    variant_order: Sequence[str] = (),
) -> ForestChart | None:
    """Lay out one row per variant-vs-control comparison, grouped by button.

    Args:
        comparisons: The insights' comparisons.
        variant_order: The order of variants within a button.

    Returns:
        The chart, or None when there are no comparisons.
    """
    if not comparisons:
        return None
    legend, y = _legend(
        [
            (VERDICT_LABELS[verdict], VERDICT_COLORS[verdict], "swatch")
            for verdict in Verdict
        ],
        top=14.0,
    )
    ticks = _lift_domain(comparisons)
    low_end, high_end = ticks[0], ticks[-1]
    plot_left, plot_right = 186.0, 478.0

    def x_of(value: float) -> float:
        share = (min(max(value, low_end), high_end) - low_end) / (high_end - low_end)
        return round(plot_left + share * (plot_right - plot_left), 1)

    rank = {variant: index for index, variant in enumerate(variant_order)}
    by_button: dict[str, list[VariantComparison]] = {}
    for comparison in comparisons:
        by_button.setdefault(comparison.button, []).append(comparison)

    plot_top = y + 22.0
    y = plot_top
    groups: list[GroupLabel] = []
    rows: list[ForestRow] = []
    for button, entries in by_button.items():
        groups.append(
            GroupLabel(
                y=y + 17.0, label=shorten(button, _GROUP_CHARS), full_label=button
            )
        )
        y += _GROUP_HEIGHT
        for comparison in sorted(
            entries, key=lambda c: (rank.get(c.variant, len(rank)), c.variant)
        ):
            rows.append(_forest_row(comparison, y, x_of, low_end, high_end))
            y += _ROW_HEIGHT
        y += 4.0
    plot_bottom = y
    return ForestChart(
        width=_WIDTH,
        height=plot_bottom + 46.0,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        label_x=plot_left - 10.0,
        lift_x=plot_right + 16.0,
        verdict_x=plot_right + 172.0,
        zero_x=x_of(0.0),
        ticks=tuple(
            Tick(x_of(value), _tick_label(value, signed=True)) for value in ticks
        ),
        groups=tuple(groups),
        rows=tuple(rows),
        legend=tuple(legend),
    )


def _forest_row(
    comparison: VariantComparison,
    y: float,
    x_of: _Scale,
    low_end: float,
    high_end: float,
) -> ForestRow:
    label = shorten(
        f"{comparison.variant} vs {comparison.control_variant}", _LABEL_CHARS + 6
    )
    verdict = comparison.verdict
    lift = comparison.relative_lift
    interval = comparison.lift_interval
    drawable = (
        lift is not None
        and interval is not None
        and all(math.isfinite(v) for v in (lift, interval.lower, interval.upper))
    )
    interval_text = (
        f"{signed_percent(interval.lower)} to {signed_percent(interval.upper)}"
        if interval is not None
        else ""
    )
    p_text = (
        ""
        if comparison.adjusted_p_value is None
        else f", adjusted p {comparison.adjusted_p_value:.3g}"
    )
    title = (
        f"{comparison.button}: {comparison.variant} vs {comparison.control_variant}: "
        f"CTR {percent(comparison.variant_rate)} vs {percent(comparison.control_rate)}"
        f", lift {signed_percent(lift)}"
        f"{f' (95% CI {interval_text})' if interval_text else ''}{p_text}"
        f"; {VERDICT_LABELS[verdict]}"
    )
    if not drawable or lift is None or interval is None:
        return ForestRow(
            button=comparison.button,
            variant=comparison.variant,
            label=label,
            title=title,
            y=y,
            point_x=None,
            low_x=None,
            high_x=None,
            clipped_low=False,
            clipped_high=False,
            lift_text=signed_percent(lift),
            interval_text=interval_text,
            verdict=verdict.value,
            verdict_label=VERDICT_LABELS[verdict],
            color=VERDICT_COLORS[verdict],
            note=_no_lift_reason(comparison),
        )
    return ForestRow(
        button=comparison.button,
        variant=comparison.variant,
        label=label,
        title=title,
        y=y,
        point_x=x_of(lift),
        low_x=x_of(interval.lower),
        high_x=x_of(interval.upper),
        clipped_low=interval.lower < low_end,
        clipped_high=interval.upper > high_end,
        lift_text=signed_percent(lift),
        interval_text=interval_text,
        verdict=verdict.value,
        verdict_label=VERDICT_LABELS[verdict],
        color=VERDICT_COLORS[verdict],
        note="",
    )


# --- daily trends -------------------------------------------------------------------


@attrs.frozen
class TrendPoint:
    """One day's value of a series; None where the day has no value."""

    day: datetime.date
    value: float | None


@attrs.frozen
class TrendSeries:
    """A named daily series, e.g. one button x variant's click-through rate."""

    label: str
    points: tuple[TrendPoint, ...]


@attrs.frozen(kw_only=True)
class TrendLine:
    """One series as polyline segments (split where days lack a value)."""

    label: str
    color: str
    segments: tuple[str, ...]
    """SVG ``points`` attribute values."""
    dashed: bool = False
    """Drawn dashed: the palette's second round, so no two lines look alike."""
    markers: tuple[tuple[float, float, str], ...]
    """``(x, y, title)`` of each day's marker."""


@attrs.frozen(kw_only=True)
class TrendChart:
    """Daily values as lines, one per series."""

    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[TrendLine, ...]
    legend: tuple[LegendItem, ...]
    axis_title: str


def trend_chart(
    series: Sequence[TrendSeries], *, axis_title: str = "Daily click-through rate"
) -> TrendChart | None:
    """Lay out daily series as lines sharing one date axis.

    Args:
        series: Daily rates (0-1), one series per line. Eight colors, then
            the same colors dashed: up to sixteen lines look different.
        axis_title: What the values are.

    Returns:
        The chart, or None when no series has a value.
    """
    days = sorted({point.day for line in series for point in line.points})
    values = [
        point.value
        for line in series
        for point in line.points
        if point.value is not None and math.isfinite(point.value)
    ]
    if not days or not values:
        return None

    styles = [
        (_PALETTE[index % len(_PALETTE)], index // len(_PALETTE) % 2 == 1)
        for index in range(len(series))
    ]
    legend, y = _legend(
        [
            (shorten(line.label, 32), color, "dashed-line" if dashed else "line")
            for line, (color, dashed) in zip(series, styles, strict=True)
        ],
        top=14.0,
    )
    y_values = nice_ticks(0.0, max(*values, 0.001))
    top, bottom = y + 8.0, y + 8.0 + 220.0
    left, right = 64.0, _WIDTH - 24.0
    first, span = days[0], max((days[-1] - days[0]).days, 1)

    def x_of(day: datetime.date) -> float:
        if len(days) == 1:
            return round((left + right) / 2.0, 1)
        return round(left + (day - first).days / span * (right - left), 1)

    def y_of(value: float) -> float:
        share = min(max(value / y_values[-1], 0.0), 1.0)
        return round(bottom - share * (bottom - top), 1)

    lines = []
    for line, (color, dashed) in zip(series, styles, strict=True):
        segments: list[str] = []
        current: list[str] = []
        markers = []
        for point in sorted(line.points, key=lambda p: p.day):
            if point.value is None or not math.isfinite(point.value):
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x, y_point = x_of(point.day), y_of(point.value)
            current.append(f"{x},{y_point}")
            markers.append(
                (x, y_point, f"{line.label}, {point.day}: {percent(point.value)}")
            )
        if current:
            segments.append(" ".join(current))
        lines.append(
            TrendLine(
                label=line.label,
                color=color,
                segments=tuple(segments),
                markers=tuple(markers),
                dashed=dashed,
            )
        )

    stride = max(1, math.ceil(len(days) / 8))
    x_ticks = tuple(Tick(x_of(day), f"{day:%b} {day.day}") for day in days[::stride])
    return TrendChart(
        width=_WIDTH,
        height=bottom + 46.0,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        x_ticks=x_ticks,
        y_ticks=tuple(Tick(y_of(value), _tick_label(value)) for value in y_values),
        lines=tuple(lines),
        legend=tuple(legend),
        axis_title=axis_title,
    )
