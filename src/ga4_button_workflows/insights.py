"""Turn metrics into the insights document: picks, recommendations, caveats.

Pure functions only: no Temporal, GA4, SQL or HTTP imports at module level.

Best and worst buttons
    Chosen among the button x variant entries that are real (neither the button
    nor the variant is a placeholder such as ``(not set)`` or ``(other)``) and
    pass the data gates (``ButtonMetrics.enough_data``). The best is the entry
    with the highest lower bound of its click-through rate's Wilson interval,
    the worst the one with the lowest upper bound among the others: a button
    must be convincingly good (or bad) to be named, and a small sample cannot
    win on luck. Ties go to the higher (for the best) or lower (for the worst)
    point estimate, then to the alphabetically first label. With two or more
    entries qualifying, best and worst always differ; with none, both are None
    and ``selection_note`` says why.

Most engaging variant
    The real variant with the highest posterior probability of having the
    highest click-through rate (see
    :func:`~ga4_button_workflows.metrics.compute_metrics`); ties go to the
    alphabetically first name.

Recommendations
    Plain sentences with the original ✅ ⚠️ 💡 🎯 prefixes, and the same as
    :class:`~ga4_button_workflows.models.Recommendation` records with the numbers
    behind them. Data warnings come first, then the comparisons' evidence, then
    the original rules on the engagement score.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import importlib.resources
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ga4_button_workflows._text import p_phrase, percent, signed_percent
from ga4_button_workflows.metrics import MetricsConfig
from ga4_button_workflows.models import (
    ButtonInsights,
    ButtonMetrics,
    ChangeDirection,
    ChangeFinding,
    MetricsReport,
    Recommendation,
    VariantComparison,
    VariantStanding,
    Verdict,
    is_placeholder,
)
from ga4_button_workflows.stats import Interval
from ga4_button_workflows.trends import describe_change

__all__ = [
    "InsightsConfig",
    "InsightsDocumentError",
    "generate_insights",
    "insights_document",
    "insights_json_schema",
    "validate_insights_document",
]

_SCHEMA_RESOURCE = ("schema", "insights.schema.json")
_SUSPICIOUS_SRM = frozenset({"warning", "mismatch"})
_EVIDENCE_DIGITS = 6
_SUMMARY_DIGITS = 4

Evidence = dict[str, float | int | str | None]
_Pending = Callable[[], Recommendation]
"""A recommendation not built yet: only those that fit the cap are built."""


def _unit_interval(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1], got {value!r}")


def _non_negative(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(
            f"{attribute.name} must be a finite, non-negative number, got {value!r}"
        )


def _optional_positive(
    instance: object, attribute: attrs.Attribute[Any], value: int | None
) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1 or None, got {value!r}")


@attrs.frozen(kw_only=True)
class InsightsConfig:
    """Thresholds of the recommendation rules and the size of the document."""

    metrics_config: MetricsConfig = attrs.field(factory=MetricsConfig)
    """The configuration the metrics were computed with: its data gates,
    confidence and alpha are quoted in the sentences. Pass the same one."""
    excellent_score: float = attrs.field(default=0.7, validator=_unit_interval)
    """Engagement score above which a button is "performing excellently"."""
    poor_score: float = attrs.field(default=0.3, validator=_unit_interval)
    """Engagement score below which a button "needs improvement"."""
    long_hover_ms: float = attrs.field(default=2000.0, validator=_non_negative)
    """Mean hover duration, in ms, above which the button should be made more
    prominent (users hesitate before clicking)."""
    low_click_through_rate: float = attrs.field(default=0.02, validator=_unit_interval)
    """Click-through rate below which a clearer call-to-action is suggested."""
    suspicious_lift: float = attrs.field(default=0.5, validator=_non_negative)
    """Relative lift (0.5 = 50%), up or down, from which tracking should be
    checked before acting on a comparison."""
    max_recommendations: int | None = attrs.field(
        default=25, validator=_optional_positive
    )
    """Recommendations kept, most important first, the last saying how many were
    left out; None keeps every one."""
    max_listed_buttons: int | None = attrs.field(
        default=25, validator=_optional_positive
    )
    """Buttons (with all their variants and comparisons) listed in the document,
    most clicked first, plus the best and worst; None lists every one. Picks,
    totals and recommendations always cover every button."""


_DEFAULT_CONFIG = InsightsConfig()


class InsightsDocumentError(ValueError):
    """An insights document does not match the published JSON schema."""


# --- formatting -----------------------------------------------------------------


def _signed_points(value: float) -> str:
    return f"{value * 100.0:+.1f} points"


def _confidence_label(config: InsightsConfig) -> str:
    return f"{config.metrics_config.confidence * 100:g}% CI"


def _evidence_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{_EVIDENCE_DIGITS}g}")


_AttrsT = TypeVar("_AttrsT", ButtonMetrics, VariantComparison, VariantStanding)


def _rounded(instance: _AttrsT) -> _AttrsT:
    """Keep 6 significant digits of every float and interval bound in a model."""
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if isinstance(value, float):
            changes[field.name] = _evidence_number(value)
        elif isinstance(value, Interval):
            changes[field.name] = Interval(
                _evidence_number(value.lower) or 0.0,
                _evidence_number(value.upper) or 0.0,
            )
    return attrs.evolve(instance, **changes)


def _summary_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, _SUMMARY_DIGITS)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _gates(config: InsightsConfig) -> str:
    gates = config.metrics_config
    return (
        f"at least {gates.min_trials:,} exposed users, of whom at least "
        f"{gates.min_successes:,} clicked and {gates.min_successes:,} did not"
    )


def _comparison_gates(config: InsightsConfig) -> str:
    gates = config.metrics_config
    return (
        f"at least {gates.min_trials:,} exposed users in each arm, and at least "
        f"{gates.min_successes:,} users who clicked and {gates.min_successes:,} who "
        "did not in both arms together"
    )


# --- selection --------------------------------------------------------------------


def _is_real(metrics: ButtonMetrics) -> bool:
    return not (is_placeholder(metrics.button) or is_placeholder(metrics.variant))


def _rankable(metrics: ButtonMetrics) -> bool:
    return (
        _is_real(metrics)
        and metrics.enough_data
        and metrics.click_through_rate is not None
        and metrics.click_through_interval is not None
    )


def _lower(metrics: ButtonMetrics) -> float:
    interval = metrics.click_through_interval
    return 0.0 if interval is None else interval.lower


def _upper(metrics: ButtonMetrics) -> float:
    interval = metrics.click_through_interval
    return 1.0 if interval is None else interval.upper


def _ctr(metrics: ButtonMetrics) -> float:
    return metrics.click_through_rate or 0.0


def _pick_buttons(
    metrics: MetricsReport, config: InsightsConfig
) -> tuple[ButtonMetrics | None, ButtonMetrics | None, str | None]:
    candidates = [entry for entry in metrics.buttons if _rankable(entry)]
    if not metrics.buttons:
        return (
            None,
            None,
            f"no data: GA4 returned no button events for {metrics.period}",
        )
    if not metrics.has_exposure_event:
        return (
            None,
            None,
            "not enough data: the event schema counts no exposure event, so "
            "click-through rates cannot be computed and no button is ranked",
        )
    if not candidates:
        return (
            None,
            None,
            "not enough data: no button reaches the data gates on any variant "
            f"({_gates(config)}); placeholders such as (not set) and (other) are "
            "never ranked",
        )

    best = min(candidates, key=lambda m: (-_lower(m), -_ctr(m), m.label))
    others = [entry for entry in candidates if entry is not best]
    if not others:
        return (
            best,
            None,
            f"only {best.label} has enough data ({_gates(config)}), so no worst "
            "button is named",
        )
    worst = min(others, key=lambda m: (_upper(m), _ctr(m), m.label))
    return best, worst, None


def _pick_variant(
    metrics: MetricsReport, config: InsightsConfig
) -> tuple[VariantStanding | None, str | None]:
    standings = [
        standing
        for standing in metrics.variants
        if standing.probability_best is not None
        and not is_placeholder(standing.variant)
    ]
    if standings:
        best = min(standings, key=lambda s: (-(s.probability_best or 0.0), s.variant))
        return best, None
    if not metrics.buttons:
        return None, None
    real = [s for s in metrics.variants if not is_placeholder(s.variant)]
    if not metrics.has_exposure_event:
        reason = "click-through rates need an exposure event"
    elif len(real) < 2:
        reason = "there is only one page variant"
    else:
        reason = f"fewer than two variants have {_gates(config)}"
    return None, f"no most engaging variant: not enough data: {reason}"


# --- recommendations --------------------------------------------------------------


def _flagged(metrics: MetricsReport) -> list[str]:
    quality = metrics.quality
    flags = []
    if quality.thresholded:
        flags.append("thresholded")
    if quality.sampled:
        flags.append(
            "sampled"
            if quality.sampling_ratio is None
            else f"sampled ({percent(quality.sampling_ratio)} of events read)"
        )
    if quality.other_row:
        flags.append("partly collapsed into (other)")
    return flags


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _effect(comparison: VariantComparison, config: InsightsConfig) -> str:
    ci = _confidence_label(config)
    lift = comparison.relative_lift
    interval = comparison.lift_interval
    if lift is not None and interval is not None:
        return (
            f"{signed_percent(lift)} ({ci} {signed_percent(interval.lower)} "
            f"to {signed_percent(interval.upper)})"
        )
    difference = comparison.difference
    interval = comparison.difference_interval
    if difference is not None and interval is not None:
        return (
            f"{_signed_points(difference)} ({ci} {_signed_points(interval.lower)} "
            f"to {_signed_points(interval.upper)})"
        )
    return "no measurable difference"


def _rates(comparison: VariantComparison) -> str:
    variant_rate = comparison.variant_rate
    control_rate = comparison.control_rate
    if variant_rate is None or control_rate is None:
        return "CTR not computable"
    return f"CTR {percent(variant_rate)} vs {percent(control_rate)}"


def _p_text(comparison: VariantComparison) -> str:
    if comparison.adjusted_p_value is None:
        return "no test possible"
    return f"adjusted p {p_phrase(comparison.adjusted_p_value)}"


def _comparison_evidence(comparison: VariantComparison) -> Evidence:
    def bound(interval: Any, side: str) -> float | None:
        return None if interval is None else _evidence_number(getattr(interval, side))

    return {
        "control_variant": comparison.control_variant,
        "status": comparison.status,
        "verdict": comparison.verdict.value,
        "control_rate": _evidence_number(comparison.control_rate),
        "variant_rate": _evidence_number(comparison.variant_rate),
        "difference": _evidence_number(comparison.difference),
        "difference_lower": bound(comparison.difference_interval, "lower"),
        "difference_upper": bound(comparison.difference_interval, "upper"),
        "relative_lift": _evidence_number(comparison.relative_lift),
        "lift_lower": bound(comparison.lift_interval, "lower"),
        "lift_upper": bound(comparison.lift_interval, "upper"),
        "p_value": _evidence_number(comparison.p_value),
        "adjusted_p_value": _evidence_number(comparison.adjusted_p_value),
        "chance_to_beat": _evidence_number(comparison.chance_to_beat),
    }


def _comparison_kind(
    comparison: VariantComparison, config: InsightsConfig, flagged: bool
) -> str | None:
    if comparison.verdict is Verdict.NOT_ENOUGH_DATA:
        return None
    if comparison.verdict is Verdict.BETTER:
        return "significant_winner"
    if comparison.verdict is Verdict.WORSE:
        return "significant_loser"
    adjusted = comparison.adjusted_p_value
    if flagged and adjusted is not None and adjusted <= config.metrics_config.alpha:
        return "unconfirmed_difference"
    return "inconclusive"


def _comparison_record(
    comparison: VariantComparison,
    kind: str,
    config: InsightsConfig,
    flags: Sequence[str],
) -> Recommendation:
    variant = comparison.variant
    control = f"{comparison.control_variant} for {comparison.button}"
    numbers = (
        f"{_rates(comparison)}, {_effect(comparison, config)}, {_p_text(comparison)}"
    )
    if kind == "significant_winner":
        text = f"✅ {variant} beats {control}: {numbers}"
    elif kind == "significant_loser":
        text = f"⚠️ {variant} underperforms {control}: {numbers}"
    elif kind == "unconfirmed_difference":
        direction = "better" if (comparison.difference or 0.0) > 0 else "worse"
        text = (
            f"⚠️ {variant} looks {direction} than {control}: {numbers}; but this "
            f"GA4 data is {_join(flags)}, so this is not a confident result"
        )
    else:
        advice = "keep the test running"
        interval = comparison.lift_interval or comparison.difference_interval
        if interval is not None and (interval.lower > 0 or interval.upper < 0):
            # The interval is per comparison; the verdict is corrected for all.
            advice = (
                "the interval excludes zero on its own, but the difference is not "
                f"significant once corrected for every comparison; {advice}"
            )
        text = f"💡 {variant} vs {control} is inconclusive: {numbers}; {advice}"
    return Recommendation(
        kind=kind,
        text=text,
        button=comparison.button,
        variant=comparison.variant,
        evidence=_comparison_evidence(comparison),
    )


def _comparison_recommendations(
    metrics: MetricsReport, config: InsightsConfig
) -> Iterator[_Pending]:
    """Decided comparisons and tracking checks, inconclusive ones, then the rest."""
    flags = _flagged(metrics)
    kinds = [
        (comparison, _comparison_kind(comparison, config, bool(flags)))
        for comparison in metrics.comparisons
    ]
    for comparison, kind in kinds:
        if kind is not None and kind != "inconclusive":
            yield functools.partial(_comparison_record, comparison, kind, config, flags)
        if kind is not None and _suspicious(comparison, config):
            yield functools.partial(_tracking_check, comparison, config)
    for comparison, kind in kinds:
        if kind == "inconclusive":
            yield functools.partial(_comparison_record, comparison, kind, config, flags)

    lacking = sum(1 for _, kind in kinds if kind is None)
    if lacking and metrics.has_exposure_event:
        text = (
            f"💡 {lacking} variant comparison{'s' if lacking != 1 else ''} cannot be "
            f"decided yet: a decision needs {_comparison_gates(config)}; keep "
            "collecting data"
        )
        evidence: Evidence = {
            "comparisons": lacking,
            "min_trials": config.metrics_config.min_trials,
            "min_successes": config.metrics_config.min_successes,
        }
        yield functools.partial(
            Recommendation, kind="comparisons_need_data", text=text, evidence=evidence
        )


def _suspicious(comparison: VariantComparison, config: InsightsConfig) -> bool:
    lift = comparison.relative_lift
    return lift is not None and abs(lift) >= config.suspicious_lift


def _tracking_check(
    comparison: VariantComparison, config: InsightsConfig
) -> Recommendation:
    lift = comparison.relative_lift or 0.0
    return Recommendation(
        kind="check_tracking",
        text=(
            f"⚠️ {comparison.variant} shows a {signed_percent(lift)} lift over "
            f"{comparison.control_variant} for {comparison.button}: changes of "
            f"{config.suspicious_lift * 100:g}% or more are rare, so check "
            "tracking before acting on it"
        ),
        button=comparison.button,
        variant=comparison.variant,
        evidence={
            "control_variant": comparison.control_variant,
            "relative_lift": _evidence_number(lift),
            "threshold": config.suspicious_lift,
            "adjusted_p_value": _evidence_number(comparison.adjusted_p_value),
        },
    )


_RULE_ORDER = (
    "needs_improvement",
    "clearer_call_to_action",
    "make_more_prominent",
    "performing_excellently",
)


def _rule_kinds(entry: ButtonMetrics, config: InsightsConfig) -> Iterator[str]:
    if entry.engagement_score < config.poor_score:
        yield "needs_improvement"
    elif entry.engagement_score > config.excellent_score:
        yield "performing_excellently"
    ctr = entry.click_through_rate
    if ctr is not None and ctr < config.low_click_through_rate:
        yield "clearer_call_to_action"
    hover_ms = entry.mean_hover_duration_ms
    if hover_ms is not None and hover_ms > config.long_hover_ms:
        yield "make_more_prominent"


def _rule_record(
    entry: ButtonMetrics, kind: str, config: InsightsConfig
) -> Recommendation:
    score = entry.engagement_score
    extra: Evidence
    if kind == "needs_improvement":
        text = f"⚠️ {entry.label} needs improvement (engagement score {score:.2f})"
        extra = {"threshold": config.poor_score}
    elif kind == "performing_excellently":
        text = (
            f"✅ {entry.label} is performing excellently (engagement score {score:.2f})"
        )
        extra = {"threshold": config.excellent_score}
    elif kind == "clearer_call_to_action":
        ctr = entry.click_through_rate or 0.0
        text = (
            f"🎯 {entry.label} has a low click-through rate ({percent(ctr)}, "
            f"{_confidence_label(config)} {percent(_lower(entry))} to "
            f"{percent(_upper(entry))}): try a clearer call-to-action"
        )
        extra = {"threshold": config.low_click_through_rate}
    else:
        hover_ms = entry.mean_hover_duration_ms or 0.0
        text = (
            f"💡 Users hover over {entry.label} for {hover_ms / 1000:.1f} s on "
            "average before acting: make it more prominent"
        )
        extra = {
            "mean_hover_duration_ms": _evidence_number(hover_ms),
            "threshold": config.long_hover_ms,
        }
    evidence: Evidence = {
        "engagement_score": _evidence_number(score),
        "click_through_rate": _evidence_number(entry.click_through_rate),
        "exposed_users": entry.exposed_users,
        "clicking_users": entry.clicking_users,
        **extra,
    }
    return Recommendation(
        kind=kind,
        text=text,
        button=entry.button,
        variant=entry.variant,
        evidence=evidence,
    )


def _rule_recommendations(
    metrics: MetricsReport, config: InsightsConfig
) -> Iterator[_Pending]:
    """The original rules, for ranked entries only: noise is not advice."""
    by_kind: dict[str, list[ButtonMetrics]] = {kind: [] for kind in _RULE_ORDER}
    for entry in sorted(
        (m for m in metrics.buttons if _rankable(m)), key=lambda m: m.label
    ):
        for kind in _rule_kinds(entry, config):
            by_kind[kind].append(entry)
    for kind in _RULE_ORDER:
        for entry in by_kind[kind]:
            yield functools.partial(_rule_record, entry, kind, config)


def _change_recommendations(metrics: MetricsReport) -> Iterator[_Pending]:
    """Significant changes since the previous period, drops first."""
    for finding in sorted(
        metrics.changes,
        key=lambda f: (f.direction is not ChangeDirection.DROP, f.label),
    ):
        yield functools.partial(_change_record, finding)


def _change_record(finding: ChangeFinding) -> Recommendation:
    dropped = finding.direction is ChangeDirection.DROP
    since = f"since {finding.previous_period}"
    text = (
        f"⚠️ Click-through dropped {since} for {describe_change(finding)}"
        if dropped
        else f"✅ Click-through rose {since} for {describe_change(finding)}"
    )
    interval = finding.change_interval
    return Recommendation(
        kind="ctr_drop" if dropped else "ctr_rise",
        text=text,
        button=finding.button,
        variant=finding.variant,
        evidence={
            "previous_rate": _evidence_number(finding.previous_rate),
            "current_rate": _evidence_number(finding.current_rate),
            "relative_change": _evidence_number(finding.relative_change),
            "change_lower": None
            if interval is None
            else _evidence_number(interval.lower),
            "change_upper": None
            if interval is None
            else _evidence_number(interval.upper),
            "adjusted_p_value": _evidence_number(finding.adjusted_p_value),
            "alert": "yes" if finding.alert else "no",
        },
    )


def _warnings(
    metrics: MetricsReport, config: InsightsConfig, *, unranked: bool
) -> list[Recommendation]:
    found = []
    if not metrics.buttons:
        found.append(
            Recommendation(
                kind="no_data",
                text=(
                    f"💡 No data: GA4 returned no button events for {metrics.period}; "
                    f"check that the events of the {metrics.schema_name!r} schema are "
                    "being sent and registered"
                ),
                evidence={"buttons": 0},
            )
        )
        return found
    if not metrics.has_exposure_event:
        found.append(
            Recommendation(
                kind="no_exposure_event",
                text=(
                    f"💡 Click-through rates cannot be computed: the "
                    f"{metrics.schema_name!r} event schema counts no exposure event; "
                    "add one (such as page_view per variant) to rank buttons"
                ),
            )
        )

    flags = _flagged(metrics)
    if flags:
        consequence = (
            "treat its comparisons with caution"
            if config.metrics_config.decide_on_flagged_data
            else "no variant is declared a winner from it"
        )
        quality = metrics.quality
        found.append(
            Recommendation(
                kind="data_quality",
                text=f"⚠️ This GA4 data is {_join(flags)}: {consequence}",
                evidence={
                    "thresholded": str(quality.thresholded).lower(),
                    "sampled": str(quality.sampled).lower(),
                    "sampling_ratio": _evidence_number(quality.sampling_ratio),
                    "other_row": str(quality.other_row).lower(),
                },
            )
        )

    if metrics.srm_status in _SUSPICIOUS_SRM:
        found.append(_srm_recommendation(metrics))

    if unranked and metrics.has_exposure_event:
        found.append(
            Recommendation(
                kind="not_enough_data",
                text=(
                    "💡 Not enough data to rank buttons: no button has, on any "
                    f"variant, {_gates(config)}; keep collecting data"
                ),
                evidence={
                    "min_trials": config.metrics_config.min_trials,
                    "min_successes": config.metrics_config.min_successes,
                },
            )
        )
    return found


def _srm_recommendation(metrics: MetricsReport) -> Recommendation:
    split = ", ".join(
        f"{standing.variant} {standing.exposed_users:,}"
        for standing in metrics.variants
        if standing.exposed_users is not None and not is_placeholder(standing.variant)
    )
    p_value = metrics.srm_p_value
    p_text = "" if p_value is None else f", p {p_phrase(p_value)}"
    severity = (
        "Sample-ratio mismatch"
        if metrics.srm_status == "mismatch"
        else "Possible sample-ratio mismatch"
    )
    return Recommendation(
        kind="sample_ratio_mismatch",
        text=(
            f"⚠️ {severity}: exposed users per variant were {split}{p_text}; check "
            "how visitors are assigned to variants and how exposures are tracked "
            "before trusting the comparisons"
        ),
        evidence={
            "status": metrics.srm_status,
            "p_value": _evidence_number(p_value),
        },
    )


def _ready(recommendation: Recommendation) -> Recommendation:
    return recommendation


def _cap(pending: Iterable[_Pending], config: InsightsConfig) -> list[Recommendation]:
    """Build the recommendations that fit, and one saying how many did not."""
    limit = config.max_recommendations
    items = list(pending)
    if limit is None or len(items) <= limit:
        return [build() for build in items]
    kept = [build() for build in items[: limit - 1]]
    left_out = len(items) - len(kept)
    return [
        *kept,
        Recommendation(
            kind="more_recommendations",
            text=(
                f"💡 {left_out:,} more recommendations were left out; the buttons "
                "and comparisons sections hold the numbers"
            ),
            evidence={"left_out": left_out},
        ),
    ]


# --- caveats and summary ---------------------------------------------------------


def _caveats(
    metrics: MetricsReport, config: InsightsConfig, listed: int, total: int
) -> list[str]:
    quality = metrics.quality
    caveats = []
    if not metrics.has_exposure_event:
        caveats.append(
            "The event schema counts no exposure event, so click-through rates are "
            "absent (not zero) and no button or variant is ranked."
        )
    if quality.thresholded:
        caveats.append(
            "GA4 applied data thresholding: rows with few users were withheld to "
            "protect privacy, so counts are understated."
        )
    if quality.sampled:
        share = (
            ""
            if quality.sampling_ratio is None
            else f" (it read {percent(quality.sampling_ratio)} of the events)"
        )
        caveats.append(f"GA4 sampled this report{share}, so counts are estimates.")
    if quality.other_row:
        caveats.append(
            "GA4 collapsed rows into (other) because of high cardinality; the "
            "buttons or variants inside it cannot be told apart."
        )
    if _flagged(metrics) and not config.metrics_config.decide_on_flagged_data:
        caveats.append(
            "No variant is declared better or worse than the control on "
            "thresholded, sampled or (other)-collapsed data."
        )
    # The report builder already words dropped buttons as a note; say it once.
    if quality.dropped_buttons and not any("left out" in n for n in quality.notes):
        caveats.append(
            f"{quality.dropped_buttons:,} buttons with fewer interactions were left "
            "out of the report; they are not ranked."
        )
    if quality.placeholder_rows:
        caveats.append(
            f"{quality.placeholder_rows:,} GA4 rows had a placeholder button or "
            "variant such as (not set) or (other); they count in the totals but are "
            "never ranked."
        )
    caveats.extend(_sentence(note) for note in quality.notes if note.strip())
    if metrics.srm_status in _SUSPICIOUS_SRM:
        p_value = metrics.srm_p_value
        p_text = "" if p_value is None else f" (p {p_phrase(p_value)})"
        caveats.append(
            f"The variants' exposed users do not match the intended split{p_text}; "
            "the comparisons may be biased."
        )
    if listed < total:
        caveats.append(
            f"The document lists the {listed:,} most clicked buttons of {total:,}; "
            "the picks, totals and recommendations cover all of them."
        )
    return caveats


def _sum_optional(values: Iterable[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _summary(
    metrics: MetricsReport,
    best: ButtonMetrics | None,
    worst: ButtonMetrics | None,
) -> dict[str, Any]:
    buttons = metrics.buttons
    scores = [entry.engagement_score for entry in buttons]
    real = [entry for entry in buttons if _is_real(entry)]
    clicked = [entry for entry in real if entry.click_events > 0]
    most_clicked = (
        min(clicked, key=lambda m: (-m.click_events, m.label)) if clicked else None
    )
    ranked = [entry for entry in buttons if _rankable(entry)]
    highest = min(ranked, key=lambda m: (-_ctr(m), m.label)) if ranked else None
    exposed = (
        _sum_optional(standing.exposed_users for standing in metrics.variants)
        if metrics.has_exposure_event
        else None
    )
    return {
        "total_buttons_analyzed": len(buttons),
        "average_engagement_score": (
            _summary_number(math.fsum(scores) / len(scores)) if scores else None
        ),
        "most_clicked_button": most_clicked.label if most_clicked else None,
        "best_engagement_score": _summary_number(max(scores)) if scores else None,
        "worst_engagement_score": _summary_number(min(scores)) if scores else None,
        "highest_ctr_button": highest.label if highest else None,
        "highest_click_through_rate": (
            _summary_number(highest.click_through_rate) if highest else None
        ),
        "best_button_click_through_rate": (
            _summary_number(best.click_through_rate) if best else None
        ),
        "worst_button_click_through_rate": (
            _summary_number(worst.click_through_rate) if worst else None
        ),
        "buttons_with_enough_data": len(ranked),
        "distinct_buttons": len({entry.button for entry in buttons}),
        "variants_analyzed": len(metrics.variants),
        "comparisons": len(metrics.comparisons),
        "significant_comparisons": sum(
            1
            for comparison in metrics.comparisons
            if comparison.verdict in (Verdict.BETTER, Verdict.WORSE)
        ),
        "has_data": bool(buttons),
        "total_exposed_users": exposed,
        "total_clicking_users": sum(entry.clicking_users for entry in buttons),
        "total_click_events": sum(entry.click_events for entry in buttons),
        "total_hovering_users": sum(entry.hovering_users for entry in buttons),
        "total_hover_events": sum(entry.hover_events for entry in buttons),
        "period_start": metrics.period.start.isoformat(),
        "period_end": metrics.period.end.isoformat(),
        "property_id": metrics.property_id,
        "schema": metrics.schema_name,
        "time_zone": metrics.time_zone,
        "srm_status": metrics.srm_status,
    }


def _listed_buttons(
    metrics: MetricsReport,
    config: InsightsConfig,
    picks: Iterable[ButtonMetrics | None],
) -> tuple[set[str], int]:
    clicks: dict[str, int] = {}
    for entry in metrics.buttons:
        clicks[entry.button] = clicks.get(entry.button, 0) + entry.click_events
    limit = config.max_listed_buttons
    if limit is None or len(clicks) <= limit:
        return set(clicks), len(clicks)
    ranked = sorted(clicks, key=lambda name: (-clicks[name], name))
    listed = set(ranked[:limit])
    listed.update(pick.button for pick in picks if pick is not None)
    return listed, len(clicks)


def generate_insights(
    metrics: MetricsReport,
    *,
    generated_at: datetime.datetime,
    config: InsightsConfig | None = None,
) -> ButtonInsights:
    """Build the insights document from the metrics.

    Args:
        metrics: The output of :func:`~ga4_button_workflows.metrics.compute_metrics`.
        generated_at: When the insights are generated; timezone-aware (it is
            stored in UTC). Inside a workflow, pass ``workflow.now()``.
        config: Rule thresholds and document size; the defaults when None.

    Returns:
        The insights. Every number in it is finite; values that cannot be
        computed are None, and ``selection_note`` says why no button or variant
        was named when none was.

    Raises:
        ValueError: ``generated_at`` has no time zone.
    """
    config = config or _DEFAULT_CONFIG
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        raise ValueError(
            f"generated_at {generated_at.isoformat()!r} has no time zone; pass an "
            "aware datetime such as datetime.now(timezone.utc) or workflow.now()"
        )

    best, worst, button_note = _pick_buttons(metrics, config)
    variant, variant_note = _pick_variant(metrics, config)
    notes = [note for note in (button_note, variant_note) if note]

    warnings = _warnings(metrics, config, unranked=best is None)
    recommendations = _cap(
        itertools.chain(
            (functools.partial(_ready, item) for item in warnings),
            _change_recommendations(metrics),
            _comparison_recommendations(metrics, config),
            _rule_recommendations(metrics, config),
        ),
        config,
    )
    listed, total = _listed_buttons(metrics, config, (best, worst))
    caveats = _caveats(metrics, config, len(listed), total)
    summary = _summary(metrics, best, worst)
    if variant_note:
        summary["most_engaging_variant_note"] = variant_note

    return ButtonInsights(
        timestamp=generated_at.astimezone(datetime.timezone.utc),
        best_performing_button=best.label if best else None,
        worst_performing_button=worst.label if worst else None,
        most_engaging_variant=variant.variant if variant else None,
        recommendations=tuple(item.text for item in recommendations),
        performance_summary=summary,
        property_id=metrics.property_id,
        period=metrics.period,
        selection_note="; ".join(notes) if notes else None,
        most_engaging_variant_probability=(
            _summary_number(variant.probability_best) if variant else None
        ),
        buttons=tuple(
            _rounded(entry) for entry in metrics.buttons if entry.button in listed
        ),
        comparisons=tuple(
            _rounded(c) for c in metrics.comparisons if c.button in listed
        ),
        variants=tuple(_rounded(standing) for standing in metrics.variants),
        recommendation_details=tuple(recommendations),
        caveats=tuple(caveats),
        schema_name=metrics.schema_name,
        trend=metrics.trend,
        changes=metrics.changes,
        changes_since=metrics.changes_since,
    )


# --- the JSON document ------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _schema_text() -> str:
    folder, name = _SCHEMA_RESOURCE
    resource = importlib.resources.files("ga4_button_workflows") / folder / name
    return resource.read_text(encoding="utf-8")


def insights_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the insights document.

    The schema ships in the package as ``schema/insights.schema.json``; each
    call returns a fresh copy.
    """
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def insights_document(insights: ButtonInsights) -> dict[str, Any]:
    """Return ``insights`` as the JSON document the workflow, stores and CLI emit.

    It is the library's cattrs converter's output: dates and datetimes as ISO
    8601 strings, enums as their values, tuples as lists.
    """
    document: dict[str, Any] = _document_converter().unstructure(insights)
    return document


@functools.lru_cache(maxsize=1)
def _document_converter() -> Any:
    # The converter module also holds the Temporal payload converter; importing
    # it here, not at module level, keeps this module free of Temporal imports.
    from ga4_button_workflows.converter import make_cattrs_converter  # noqa: PLC0415

    return make_cattrs_converter()


def _non_finite_paths(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path or "$"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_finite_paths(item, f"{path}[{index}]")


def validate_insights_document(document: Mapping[str, Any]) -> None:
    """Check a document against the insights JSON schema; no NaN or infinity.

    The full schema is checked with the ``jsonschema`` package when it is
    installed (it is a test dependency, not a runtime one); without it, only the
    required top-level keys and the absence of NaN and infinity are checked.

    Args:
        document: A decoded document, e.g. from :func:`insights_document`.

    Raises:
        InsightsDocumentError: the document does not match; the message names
            the offending path.
    """
    bad = list(_non_finite_paths(document, ""))
    if bad:
        raise InsightsDocumentError(
            f"the insights document holds NaN or infinity at {', '.join(bad[:5])}; "
            "JSON has no portable spelling for them"
        )

    validator = _schema_validator()
    if validator is None:
        required = insights_json_schema()["required"]
        missing = [key for key in required if key not in document]
        if missing:
            raise InsightsDocumentError(
                f"the insights document lacks the keys {', '.join(missing)}"
            )
        return

    best_match = importlib.import_module("jsonschema.exceptions").best_match
    error = best_match(validator.iter_errors(document))
    if error is not None:
        raise InsightsDocumentError(
            f"the insights document does not match its schema at "
            f"{error.json_path}: {error.message}"
        )


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Any:
    """The jsonschema validator of the insights schema, or None without jsonschema."""
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ImportError:
        return None
    return jsonschema.Draft202012Validator(insights_json_schema())
