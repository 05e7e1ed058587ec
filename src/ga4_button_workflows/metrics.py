"""Turn a :class:`~ga4_button_workflows.models.ButtonReport` into metrics.

Pure functions only: no Temporal, GA4, SQL or HTTP imports, so the activities
and any host code can call them directly.

Per button x page variant
    * **click-through rate** (CTR): users who clicked / users exposed, a
      binomial proportion with a Wilson interval. It is None, never 0, when the
      event schema counts no exposure or no user was exposed.
    * **hover-to-click rate**: users who clicked / users who hovered.
    * **mean hover duration**: summed hover duration / events that carried one
      (hover ends and clicks), in ms.
    * **engagement score** in [0, 1], see :func:`engagement_score`.

GA4 counts users per event, so a user whose ``page_view`` fell in another
session or day can click without being counted as exposed, and touch screens
click without hovering. Clicking users above exposed (or hovering) users are
therefore capped for the rates and said so in the report's quality notes; the
raw counts are kept.

Per button
    Every variant against the control with
    :func:`~ga4_button_workflows.stats.compare_proportions`; the p-values of the
    whole analysis are adjusted together (Holm by default) before a verdict.

Per variant
    Clicking users summed over its buttons, its exposed users and its
    probability of having the highest click-through rate.

Placeholder buttons and variants (``(not set)``, ``(other)``) keep their
metrics but are never compared as a variant and never take part in a ranking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from ga4_button_workflows import _checks
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonMetrics,
    ButtonReport,
    DataQuality,
    MetricsReport,
    VariantComparison,
    VariantStanding,
    Verdict,
    is_placeholder,
)
from ga4_button_workflows.stats import (
    DEFAULT_MIN_SUCCESSES,
    DEFAULT_MIN_TRIALS,
    PValueAdjustment,
    adjust_p_values,
    compare_proportions,
    probability_best,
    reject_hypotheses,
    srm_test,
    wilson_interval,
)

__all__ = [
    "MetricsConfig",
    "compute_metrics",
    "engagement_score",
    "passes_data_gates",
]

_NOTE_EXAMPLES = 3


def _adjustment(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        PValueAdjustment(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in PValueAdjustment)
        raise ValueError(
            f"unknown p-value adjustment {value!r}; use one of {valid}"
        ) from None


def _as_split(
    value: Mapping[str, float] | Iterable[tuple[str, float]],
) -> tuple[tuple[str, float], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    return tuple((str(variant), float(weight)) for variant, weight in pairs)


def _split(
    instance: object,
    attribute: attrs.Attribute[tuple[tuple[str, float], ...]],
    value: tuple[tuple[str, float], ...],
) -> None:
    for variant, weight in value:
        if not (math.isfinite(weight) and weight >= 0.0):
            raise ValueError(
                f"traffic_split weight of {variant!r} must be finite and "
                f"non-negative, got {weight!r}"
            )
    if value and math.fsum(weight for _, weight in value) <= 0.0:
        raise ValueError(f"traffic_split weights must not all be 0, got {value!r}")


@attrs.frozen(kw_only=True)
class MetricsConfig:
    """How metrics, engagement scores and verdicts are computed.

    The engagement weights may be given in any scale; they are normalised to
    sum to 1. The defaults weigh click-through 0.4, hover 0.3 and click volume
    0.3.
    """

    click_through_weight: float = attrs.field(
        default=0.4, validator=_checks.non_negative_finite
    )
    """Weight of the click-through component of the engagement score."""
    hover_weight: float = attrs.field(
        default=0.3, validator=_checks.non_negative_finite
    )
    """Weight of the hover-duration component of the engagement score."""
    click_volume_weight: float = attrs.field(
        default=0.3, validator=_checks.non_negative_finite
    )
    """Weight of the click-volume component of the engagement score."""
    hover_scale_ms: float = attrs.field(
        default=1000.0, validator=_checks.positive_finite
    )
    """Hover duration, in ms, at which the hover component reaches 1 - 1/e
    (about 0.63); 2 s gives about 0.86."""
    click_volume_half_saturation: float = attrs.field(
        default=100.0, validator=_checks.positive_finite
    )
    """Click events at which the click-volume component reaches 0.5."""
    min_trials: int = attrs.field(default=DEFAULT_MIN_TRIALS, validator=_checks.count)
    """Exposed users an arm needs for a decision (and a button for ranking)."""
    min_successes: int = attrs.field(
        default=DEFAULT_MIN_SUCCESSES, validator=_checks.count
    )
    """Clicking users, and non-clicking users, needed for a decision."""
    confidence: float = attrs.field(default=0.95, validator=_checks.open_unit)
    """Confidence level of every interval, e.g. 0.95 for 95%."""
    alpha: float = attrs.field(default=0.05, validator=_checks.open_unit)
    """Family-wise error rate (or false discovery rate with ``"bh"``) for verdicts."""
    p_value_adjustment: str = attrs.field(default="holm", validator=_adjustment)
    """``"holm"``, ``"bh"`` (Benjamini-Hochberg) or ``"bonferroni"``."""
    decide_on_flagged_data: bool = False
    """Let thresholded, sampled or ``(other)``-collapsed GA4 data give BETTER or
    WORSE verdicts. Off by default: such data yields INCONCLUSIVE at best."""
    traffic_split: tuple[tuple[str, float], ...] = attrs.field(
        default=(), converter=_as_split, validator=_split
    )
    """Intended share per variant for the sample-ratio check, as a mapping or
    pairs such as ``{"original": 1, "colors": 1}``; equal shares when empty. A variant
    missing from a non-empty split is expected to get no traffic."""

    def __attrs_post_init__(self) -> None:
        total = self.click_through_weight + self.hover_weight + self.click_volume_weight
        if total <= 0.0:
            raise ValueError(
                "the engagement weights must not all be 0, got click_through_weight="
                f"{self.click_through_weight!r}, hover_weight={self.hover_weight!r}, "
                f"click_volume_weight={self.click_volume_weight!r}"
            )

    @property
    def weights(self) -> tuple[float, float, float]:
        """The click-through, hover and click-volume weights, summing to 1."""
        total = self.click_through_weight + self.hover_weight + self.click_volume_weight
        return (
            self.click_through_weight / total,
            self.hover_weight / total,
            self.click_volume_weight / total,
        )


_DEFAULT_CONFIG = MetricsConfig()


def passes_data_gates(
    clicking_users: int, exposed_users: int | None, config: MetricsConfig | None = None
) -> bool:
    """True when one arm alone meets the gates of a decision.

    The single-arm form of :func:`~ga4_button_workflows.stats.compare_proportions`'
    gates: at least ``min_trials`` exposed users, and at least
    ``min_successes`` users on each side of the outcome (clicking and not
    clicking). Clicking users above exposed users are capped first.
    """
    config = config or _DEFAULT_CONFIG
    if exposed_users is None or exposed_users < config.min_trials:
        return False
    clicking = min(clicking_users, exposed_users)
    return min(clicking, exposed_users - clicking) >= config.min_successes


def _rate(successes: int, trials: int | None) -> float | None:
    if not trials:
        return None
    return min(successes, trials) / trials


def _mean_hover_ms(counts: ButtonCounts) -> float | None:
    if counts.hover_duration_events <= 0:
        return None
    mean = counts.hover_duration_total_ms / counts.hover_duration_events
    return mean if math.isfinite(mean) and mean >= 0.0 else None


def _score(
    click_through: float | None,
    hover_to_click: float | None,
    mean_hover_ms: float | None,
    click_events: int,
    config: MetricsConfig,
) -> float:
    ctr_weight, hover_weight, volume_weight = config.weights
    if click_through is not None:
        ctr_component = click_through
    elif hover_to_click is not None:
        ctr_component = hover_to_click
    else:
        ctr_component = 0.0
    hover_component = (
        0.0
        if mean_hover_ms is None
        else -math.expm1(-mean_hover_ms / config.hover_scale_ms)
    )
    clicks = max(click_events, 0)
    volume_component = clicks / (clicks + config.click_volume_half_saturation)

    score = (
        ctr_weight * ctr_component
        + hover_weight * hover_component
        + volume_weight * volume_component
    )
    return min(1.0, max(0.0, score))


def engagement_score(
    counts: ButtonCounts, config: MetricsConfig | None = None
) -> float:
    """Return the bounded engagement score of one button on one variant.

    ``score = w_ctr * C + w_hover * H + w_volume * V`` with the weights of
    ``config`` normalised to sum to 1, and every component in [0, 1]:

    * ``C``, click-through: clicking users / exposed users, capped at 1. Without
      exposures (no exposure event, or no exposed user) the hover-to-click rate
      stands in (capped at 1); without hovers either, 0.
    * ``H``, hover: ``1 - exp(-mean_hover_ms / hover_scale_ms)``, a saturating
      function of the mean hover duration; 0 without duration data.
    * ``V``, click volume: ``clicks / (clicks + click_volume_half_saturation)``
      over click events; it approaches 1 but never exceeds it however large
      the traffic.

    The score is never NaN, stays in [0, 1] and does not decrease when clicks
    (clicking users or click events) grow at fixed exposures and hovers.

    Args:
        counts: The button's aggregated counts.
        config: Weights and scales; the defaults when None.

    Returns:
        The score, in [0, 1].
    """
    config = config or _DEFAULT_CONFIG
    return _score(
        _rate(counts.clicking_users, counts.exposed_users),
        _rate(counts.clicking_users, counts.hovering_users),
        _mean_hover_ms(counts),
        counts.click_events,
        config,
    )


@attrs.define
class _Notes:
    """Data-quality findings gathered while computing, summarised at the end."""

    over_exposed: list[str] = attrs.field(factory=list)
    over_hovered: list[str] = attrs.field(factory=list)

    def summarise(self) -> list[str]:
        notes = []
        if self.over_exposed:
            notes.append(
                f"{len(self.over_exposed)} button x variant entries had more "
                f"clicking users than exposed users ({_examples(self.over_exposed)}); "
                "GA4 counts users per event, so an exposure in another session or "
                "day is missed. Their click-through rates are capped at 100%"
            )
        if self.over_hovered:
            notes.append(
                f"{len(self.over_hovered)} button x variant entries had more "
                f"clicking users than hovering users ({_examples(self.over_hovered)}); "
                "touch screens click without hovering. Their hover-to-click rates "
                "are capped at 100%"
            )
        return notes


def _examples(items: Sequence[str]) -> str:
    shown = "; ".join(items[:_NOTE_EXAMPLES])
    if len(items) > _NOTE_EXAMPLES:
        shown += f"; and {len(items) - _NOTE_EXAMPLES} more"
    return shown


def _button_metrics(
    counts: ButtonCounts,
    *,
    has_exposure_event: bool,
    config: MetricsConfig,
    notes: _Notes,
) -> ButtonMetrics:
    exposed_users = counts.exposed_users if has_exposure_event else None
    label = f"{counts.button} on {counts.variant}"
    if exposed_users is not None and counts.clicking_users > exposed_users:
        notes.over_exposed.append(
            f"{label}: {counts.clicking_users} of {exposed_users}"
        )
    if counts.hovering_users and counts.clicking_users > counts.hovering_users:
        notes.over_hovered.append(
            f"{label}: {counts.clicking_users} of {counts.hovering_users}"
        )

    click_through = _rate(counts.clicking_users, exposed_users)
    interval = (
        wilson_interval(
            min(counts.clicking_users, exposed_users), exposed_users, config.confidence
        )
        if exposed_users
        else None
    )
    hover_to_click = _rate(counts.clicking_users, counts.hovering_users)
    mean_hover_ms = _mean_hover_ms(counts)
    return ButtonMetrics(
        button=counts.button,
        variant=counts.variant,
        exposed_users=exposed_users,
        exposure_events=counts.exposure_events,
        clicking_users=counts.clicking_users,
        click_events=counts.click_events,
        hovering_users=counts.hovering_users,
        hover_events=counts.hover_events,
        click_through_rate=click_through,
        click_through_interval=interval,
        hover_to_click_rate=hover_to_click,
        mean_hover_duration_ms=mean_hover_ms,
        engagement_score=_score(
            click_through, hover_to_click, mean_hover_ms, counts.click_events, config
        ),
        enough_data=passes_data_gates(counts.clicking_users, exposed_users, config),
    )


def _arm(metrics: ButtonMetrics) -> tuple[int, int]:
    trials = metrics.exposed_users or 0
    return min(metrics.clicking_users, trials), trials


def _decisions_trusted(quality: DataQuality, config: MetricsConfig) -> bool:
    if config.decide_on_flagged_data:
        return True
    return not (quality.thresholded or quality.sampled or quality.other_row)


def _comparisons(
    buttons: Sequence[ButtonMetrics],
    control_variant: str,
    *,
    trusted: bool,
    config: MetricsConfig,
) -> tuple[VariantComparison, ...]:
    by_button: dict[str, dict[str, ButtonMetrics]] = {}
    for metrics in buttons:
        by_button.setdefault(metrics.button, {})[metrics.variant] = metrics

    pending = []
    for button in sorted(by_button):
        variants = by_button[button]
        control = variants.get(control_variant)
        if is_placeholder(button) or control is None:
            continue
        for variant in sorted(variants):
            if variant == control_variant or is_placeholder(variant):
                continue
            result = compare_proportions(
                _arm(control),
                _arm(variants[variant]),
                confidence=config.confidence,
                min_trials=config.min_trials,
                min_successes=config.min_successes,
            )
            pending.append((button, variant, result))

    adjusted = adjust_p_values(
        [result.p_value for _, _, result in pending], config.p_value_adjustment
    )
    rejected = reject_hypotheses(adjusted, config.alpha)
    comparisons = []
    for (button, variant, result), adjusted_p, reject in zip(
        pending, adjusted, rejected, strict=True
    ):
        if not result.decision_allowed:
            verdict = Verdict.NOT_ENOUGH_DATA
        elif reject and trusted and result.difference:
            verdict = Verdict.BETTER if result.difference > 0 else Verdict.WORSE
        else:
            verdict = Verdict.INCONCLUSIVE
        comparisons.append(
            VariantComparison(
                button=button,
                control_variant=control_variant,
                variant=variant,
                status=result.status.value,
                verdict=verdict,
                control_rate=result.control_rate,
                variant_rate=result.treatment_rate,
                difference=result.difference,
                difference_interval=result.difference_interval,
                relative_lift=result.relative_lift,
                lift_interval=result.lift_interval,
                p_value=result.p_value,
                adjusted_p_value=adjusted_p,
                chance_to_beat=result.chance_to_beat,
            )
        )
    return tuple(comparisons)


def _variant_order(names: Iterable[str], control_variant: str) -> list[str]:
    return sorted(set(names), key=lambda name: (name != control_variant, name))


def _standings(
    report: ButtonReport, buttons: Sequence[ButtonMetrics], config: MetricsConfig
) -> tuple[VariantStanding, ...]:
    page_users = {exposure.variant: exposure.users for exposure in report.exposures}
    clicks: dict[str, int] = {}
    button_exposures: dict[str, int] = {}
    scores: dict[str, list[float]] = {}
    for metrics in buttons:
        clicks[metrics.variant] = (
            clicks.get(metrics.variant, 0) + metrics.clicking_users
        )
        if metrics.exposed_users is not None:
            button_exposures[metrics.variant] = (
                button_exposures.get(metrics.variant, 0) + metrics.exposed_users
            )
        if not is_placeholder(metrics.button):
            scores.setdefault(metrics.variant, []).append(metrics.engagement_score)

    names = _variant_order([*clicks, *page_users], report.control_variant)
    rows = []
    for name in names:
        if not report.has_exposure_event:
            exposed: int | None = None
        elif name in page_users:
            exposed = page_users[name]
        else:
            exposed = button_exposures.get(name)
        clicking = clicks.get(name, 0)
        variant_scores = scores.get(name, [])
        rows.append(
            (
                name,
                clicking,
                exposed,
                _rate(clicking, exposed),
                math.fsum(variant_scores) / len(variant_scores)
                if variant_scores
                else 0.0,
            )
        )

    eligible = [
        index
        for index, (name, clicking, exposed, _, _) in enumerate(rows)
        if not is_placeholder(name) and passes_data_gates(clicking, exposed, config)
    ]
    best: dict[int, float] = {}
    if len(eligible) >= 2:
        arms = []
        for index in eligible:
            _, clicking, exposed, _, _ = rows[index]
            trials = exposed or 0
            arms.append((min(clicking, trials), trials))
        best = dict(zip(eligible, probability_best(arms), strict=True))

    return tuple(
        VariantStanding(
            variant=name,
            clicking_users=clicking,
            exposed_users=exposed,
            click_through_rate=rate,
            mean_engagement_score=mean_score,
            probability_best=best.get(index),
        )
        for index, (name, clicking, exposed, rate, mean_score) in enumerate(rows)
    )


def _sample_ratio(
    report: ButtonReport, config: MetricsConfig
) -> tuple[str | None, float | None]:
    exposures = [
        exposure
        for exposure in report.exposures
        if not is_placeholder(exposure.variant)
    ]
    if len(exposures) < 2:
        return None, None
    weights = None
    if config.traffic_split:
        split = dict(config.traffic_split)
        weights = [split.get(exposure.variant, 0.0) for exposure in exposures]
        if math.fsum(weights) <= 0.0:
            return None, None
    check = srm_test([exposure.users for exposure in exposures], weights)
    return check.status.value, check.p_value


def compute_metrics(
    report: ButtonReport, *, config: MetricsConfig | None = None
) -> MetricsReport:
    """Compute per-button metrics, variant comparisons and variant standings.

    Definitions:

    * ``enough_data`` per button x variant: :func:`passes_data_gates`.
    * Comparisons: for every real (non-placeholder) button that has an entry on
      the control variant, each other real variant with an entry is compared
      with the control on (clicking users, exposed users). All p-values of the
      analysis form one family for ``config.p_value_adjustment``. The verdict
      is BETTER or WORSE only when the comparison's status allows a decision,
      the adjusted p-value is at most ``config.alpha`` and GA4 did not flag the
      data as thresholded, sampled or ``(other)``-collapsed (see
      ``config.decide_on_flagged_data``); INCONCLUSIVE when a decision is
      allowed otherwise; NOT_ENOUGH_DATA when it is not.
    * Variant standing: clicking users summed over the variant's buttons (an
      upper bound of the users who clicked any button: a user who clicks two
      buttons counts twice). Exposed users are the variant's page-level
      exposures when the schema counts them per page, else the sum of its
      buttons' exposures. Its rate is the first over the second, capped at 1.
      ``probability_best`` is the posterior probability (uniform priors) that
      the variant's rate is the highest, computed over the real variants that
      pass the data gates when at least two do; None for the others.
    * Sample ratio: a chi-square test of the real variants' page-level exposed
      users against ``config.traffic_split`` (equal shares by default); not
      run (None) with fewer than two such variants.

    Args:
        report: The compact report from the fetch step.
        config: How to compute; the defaults when None.

    Returns:
        The metrics, with the report's data-quality caveats and any new ones
        (capped rates) in ``quality``.
    """
    config = config or _DEFAULT_CONFIG
    notes = _Notes()

    buttons = tuple(
        _button_metrics(
            counts,
            has_exposure_event=report.has_exposure_event,
            config=config,
            notes=notes,
        )
        for counts in report.counts
    )
    comparisons = _comparisons(
        buttons,
        report.control_variant,
        trusted=_decisions_trusted(report.quality, config),
        config=config,
    )
    variants = _standings(report, buttons, config)
    srm_status, srm_p_value = _sample_ratio(report, config)

    added = [note for note in notes.summarise() if note not in report.quality.notes]
    quality = (
        attrs.evolve(report.quality, notes=(*report.quality.notes, *added))
        if added
        else report.quality
    )
    return MetricsReport(
        property_id=report.property_id,
        period=report.period,
        schema_name=report.schema_name,
        control_variant=report.control_variant,
        buttons=buttons,
        comparisons=comparisons,
        variants=variants,
        srm_status=srm_status,
        srm_p_value=srm_p_value,
        has_exposure_event=report.has_exposure_event,
        quality=quality,
        time_zone=report.time_zone,
    )
