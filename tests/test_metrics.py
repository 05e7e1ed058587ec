"""Metrics: rates, the bounded engagement score, comparisons and standings."""

from __future__ import annotations

import datetime
import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.metrics import (
    MetricsConfig,
    compute_metrics,
    engagement_score,
    passes_data_gates,
)
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonReport,
    DataQuality,
    MetricsReport,
    Period,
    VariantComparison,
    VariantExposure,
    Verdict,
)
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.stats import (
    ComparisonStatus,
    adjust_p_values,
    compare_proportions,
)

PERIOD = Period(datetime.date(2024, 1, 1), datetime.date(2024, 1, 7))
BIG = 10**12


def counts(
    button: str,
    variant: str,
    exposed: int | None,
    clicking: int,
    **extra: int | float,
) -> ButtonCounts:
    values: dict[str, int | float] = {"click_events": clicking, **extra}
    return ButtonCounts(
        button=button,
        variant=variant,
        exposed_users=exposed,
        clicking_users=clicking,
        **values,  # type: ignore[arg-type]
    )


def report(
    *entries: ButtonCounts,
    exposures: dict[str, int] | None = None,
    quality: DataQuality | None = None,
    has_exposure_event: bool = True,
    control: str = "original",
) -> ButtonReport:
    return ButtonReport(
        property_id="123456789",
        period=PERIOD,
        schema_name="test",
        control_variant=control,
        counts=entries,
        exposures=tuple(
            VariantExposure(variant=name, users=users, events=users * 2)
            for name, users in sorted((exposures or {}).items())
        ),
        has_exposure_event=has_exposure_event,
        quality=quality or DataQuality(),
    )


def comparison_for(
    metrics: MetricsReport, button: str, variant: str
) -> VariantComparison:
    [found] = [
        c for c in metrics.comparisons if (c.button, c.variant) == (button, variant)
    ]
    return found


PLANTED = report(
    counts("cta", "original", 5000, 210),
    counts("cta", "colors", 5000, 305),
    counts("cta", "sizes", 5000, 212),
    exposures={"original": 5000, "colors": 5000, "sizes": 5000},
)


class TestRates:
    def test_click_through_rate_is_clicking_over_exposed_users_with_wilson_interval(
        self,
    ) -> None:
        metrics = compute_metrics(report(counts("cta", "original", 263, 81)))

        [entry] = metrics.buttons
        assert entry.click_through_rate == pytest.approx(81 / 263)
        assert entry.click_through_interval is not None
        assert entry.click_through_interval.lower == pytest.approx(0.2552885198782742)
        assert entry.click_through_interval.upper == pytest.approx(0.36620957698280004)

    def test_click_through_rate_is_absent_not_zero_without_an_exposure_event(
        self,
    ) -> None:
        metrics = compute_metrics(
            report(counts("cta", "default", 500, 40), has_exposure_event=False)
        )

        [entry] = metrics.buttons
        assert entry.exposed_users is None
        assert entry.click_through_rate is None
        assert entry.click_through_interval is None
        assert not entry.enough_data
        assert not metrics.has_exposure_event

    def test_click_through_rate_is_absent_when_nobody_was_exposed(self) -> None:
        metrics = compute_metrics(report(counts("cta", "original", 0, 0)))

        [entry] = metrics.buttons
        assert entry.click_through_rate is None
        assert entry.click_through_interval is None

    def test_more_clickers_than_exposed_users_are_capped_and_noted(self) -> None:
        metrics = compute_metrics(report(counts("cta", "original", 100, 120)))

        [entry] = metrics.buttons
        assert entry.clicking_users == 120
        assert entry.click_through_rate == 1.0
        assert entry.click_through_interval is not None
        assert entry.click_through_interval.upper == 1.0
        assert any("capped at 100%" in note for note in metrics.quality.notes)
        assert any("cta on original: 120 of 100" in n for n in metrics.quality.notes)

    def test_hover_to_click_rate_is_capped_at_one_with_a_note(self) -> None:
        metrics = compute_metrics(
            report(counts("cta", "original", 1000, 60, hovering_users=40))
        )

        [entry] = metrics.buttons
        assert entry.hover_to_click_rate == 1.0
        assert any("touch screens" in note for note in metrics.quality.notes)

    def test_hover_to_click_rate_is_absent_without_hovers(self) -> None:
        metrics = compute_metrics(report(counts("cta", "original", 1000, 60)))

        assert metrics.buttons[0].hover_to_click_rate is None

    def test_mean_hover_duration_counts_only_events_that_carry_one(self) -> None:
        metrics = compute_metrics(
            report(
                counts(
                    "cta",
                    "original",
                    1000,
                    60,
                    hover_events=500,
                    hover_duration_total_ms=9000.0,
                    hover_duration_events=6,
                )
            )
        )

        assert metrics.buttons[0].mean_hover_duration_ms == pytest.approx(1500.0)

    def test_mean_hover_duration_is_absent_without_duration_events(self) -> None:
        metrics = compute_metrics(
            report(counts("cta", "original", 1000, 60, hover_events=500))
        )

        assert metrics.buttons[0].mean_hover_duration_ms is None

    def test_a_report_from_the_builder_keeps_page_level_exposures(self) -> None:
        builder = ReportBuilder(ORIGINAL_LANDING_PAGE, property_id="1", period=PERIOD)
        builder.add_row(
            event_name="page_view",
            button=None,
            variant="original",
            event_count=900,
            users=400,
        )
        builder.add_row(
            event_name="cta_click",
            button="cta",
            variant="original",
            event_count=50,
            users=40,
            duration_ms=30_000.0,
        )

        metrics = compute_metrics(builder.build())

        [entry] = metrics.buttons
        assert entry.exposed_users == 400
        assert entry.click_through_rate == pytest.approx(0.1)
        assert entry.mean_hover_duration_ms == pytest.approx(600.0)
        assert metrics.variants[0].exposed_users == 400


class TestEngagementScore:
    def test_default_formula_weighs_click_through_hover_and_volume(self) -> None:
        entry = counts(
            "cta",
            "original",
            1000,
            100,
            click_events=100,
            hover_duration_total_ms=2000.0,
            hover_duration_events=2,
        )

        expected = 0.4 * 0.1 + 0.3 * (1 - math.exp(-1.0)) + 0.3 * 0.5
        assert engagement_score(entry) == pytest.approx(expected)

    def test_weights_are_normalised(self) -> None:
        config = MetricsConfig(
            click_through_weight=2, hover_weight=0, click_volume_weight=2
        )

        assert config.weights == (0.5, 0.0, 0.5)
        entry = counts("cta", "original", 1000, 100, click_events=100)
        assert engagement_score(entry, config) == pytest.approx(0.5 * 0.1 + 0.5 * 0.5)

    def test_hover_to_click_stands_in_for_click_through_without_exposures(
        self,
    ) -> None:
        entry = counts("cta", "default", None, 30, click_events=0, hovering_users=60)
        config = MetricsConfig(hover_weight=0, click_volume_weight=0)

        assert engagement_score(entry, config) == pytest.approx(0.5)

    def test_score_approaches_but_never_reaches_beyond_one_with_huge_traffic(
        self,
    ) -> None:
        entry = counts(
            "cta",
            "original",
            BIG,
            BIG,
            click_events=BIG,
            hover_duration_total_ms=1e15,
            hover_duration_events=1,
        )

        assert engagement_score(entry) <= 1.0

    @pytest.mark.parametrize(
        "weights",
        [
            {"click_through_weight": -0.1},
            {"hover_weight": math.nan},
            {"click_volume_weight": math.inf},
            {"click_through_weight": 0, "hover_weight": 0, "click_volume_weight": 0},
        ],
    )
    def test_invalid_weights_are_refused(self, weights: dict[str, float]) -> None:
        with pytest.raises(ValueError, match="weight"):
            MetricsConfig(**weights)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("hover_scale_ms", 0.0),
            ("click_volume_half_saturation", -1.0),
            ("confidence", 1.0),
            ("alpha", 0.0),
            ("p_value_adjustment", "fisher"),
            ("min_trials", -1),
        ],
    )
    def test_invalid_settings_are_refused(self, field: str, value: object) -> None:
        with pytest.raises(
            ValueError, match=field if field != "p_value_adjustment" else "adjustment"
        ):
            MetricsConfig(**{field: value})  # type: ignore[arg-type]

    @settings(max_examples=200, deadline=None)
    @given(
        exposed=st.one_of(st.none(), st.integers(0, BIG)),
        clicking=st.integers(0, BIG),
        click_events=st.integers(0, BIG),
        hovering=st.integers(0, BIG),
        duration_events=st.integers(0, BIG),
        duration_ms=st.floats(0, 1e18, allow_nan=False),
    )
    def test_score_is_finite_and_within_zero_and_one(
        self,
        *,
        exposed: int | None,
        clicking: int,
        click_events: int,
        hovering: int,
        duration_events: int,
        duration_ms: float,
    ) -> None:
        entry = counts(
            "cta",
            "original",
            exposed,
            clicking,
            click_events=click_events,
            hovering_users=hovering,
            hover_duration_events=duration_events,
            hover_duration_total_ms=duration_ms,
        )

        score = engagement_score(entry)

        assert math.isfinite(score)
        assert 0.0 <= score <= 1.0

    @settings(max_examples=200, deadline=None)
    @given(
        exposed=st.integers(0, BIG),
        clicking=st.integers(0, BIG),
        more_users=st.integers(0, BIG),
        click_events=st.integers(0, BIG),
        more_events=st.integers(0, BIG),
        hovering=st.integers(0, 10**6),
        weights=st.tuples(*[st.floats(0, 10, allow_nan=False)] * 3).filter(
            lambda w: sum(w) > 0
        ),
    )
    def test_score_does_not_decrease_with_more_clicks_at_fixed_exposures(
        self,
        *,
        exposed: int,
        clicking: int,
        more_users: int,
        click_events: int,
        more_events: int,
        hovering: int,
        weights: tuple[float, float, float],
    ) -> None:
        config = MetricsConfig(
            click_through_weight=weights[0],
            hover_weight=weights[1],
            click_volume_weight=weights[2],
        )
        fewer = counts(
            "cta",
            "original",
            exposed,
            clicking,
            click_events=click_events,
            hovering_users=hovering,
        )
        more = attrs.evolve(
            fewer,
            clicking_users=clicking + more_users,
            click_events=click_events + more_events,
        )

        assert engagement_score(more, config) >= engagement_score(fewer, config)


class TestDataGates:
    @pytest.mark.parametrize(
        ("clicking", "exposed", "expected"),
        [
            (25, 100, True),
            (24, 100, False),
            (25, 99, False),
            (75, 100, True),
            (76, 100, False),
            (500, 100, False),
            (30, None, False),
        ],
    )
    def test_gates_need_exposures_and_both_outcomes(
        self, clicking: int, exposed: int | None, expected: bool
    ) -> None:
        assert passes_data_gates(clicking, exposed) is expected

    @settings(max_examples=200, deadline=None)
    @given(
        control=st.tuples(st.integers(0, 400), st.integers(0, 400)),
        treatment=st.tuples(st.integers(0, 400), st.integers(0, 400)),
    )
    def test_two_arms_that_pass_the_gates_allow_a_decision(
        self, control: tuple[int, int], treatment: tuple[int, int]
    ) -> None:
        arms = [(min(s, t), t) for s, t in (control, treatment)]

        if all(passes_data_gates(s, t) for s, t in arms):
            comparison = compare_proportions(arms[0], arms[1])
            assert comparison.status is ComparisonStatus.OK


class TestComparisons:
    def test_a_planted_winner_is_found(self) -> None:
        metrics = compute_metrics(PLANTED)

        winner = comparison_for(metrics, "cta", "colors")
        assert winner.verdict is Verdict.BETTER
        assert winner.status == "ok"
        assert winner.relative_lift == pytest.approx(305 / 210 - 1)
        assert winner.lift_interval is not None
        assert winner.lift_interval.lower > 0
        assert winner.adjusted_p_value is not None
        assert winner.adjusted_p_value < 0.05

    def test_two_equal_variants_are_inconclusive(self) -> None:
        metrics = compute_metrics(PLANTED)

        equal = comparison_for(metrics, "cta", "sizes")
        assert equal.verdict is Verdict.INCONCLUSIVE
        assert equal.difference_interval is not None
        assert equal.difference_interval.contains(0.0)

    def test_a_significantly_worse_variant_is_worse(self) -> None:
        metrics = compute_metrics(
            report(
                counts("cta", "original", 5000, 305),
                counts("cta", "colors", 5000, 210),
            )
        )

        assert metrics.comparisons[0].verdict is Verdict.WORSE

    def test_p_values_are_adjusted_across_the_whole_analysis(self) -> None:
        metrics = compute_metrics(
            report(
                *PLANTED.counts,
                counts("nav", "original", 5000, 1205),
                counts("nav", "colors", 5000, 1305),
            )
        )

        raw = [c.p_value for c in metrics.comparisons]
        assert [c.adjusted_p_value for c in metrics.comparisons] == adjust_p_values(
            raw, "holm"
        )
        nav = comparison_for(metrics, "nav", "colors")
        assert nav.p_value is not None
        assert nav.adjusted_p_value is not None
        assert nav.adjusted_p_value > nav.p_value

    def test_the_adjustment_method_is_configurable(self) -> None:
        metrics = compute_metrics(
            PLANTED, config=MetricsConfig(p_value_adjustment="bonferroni")
        )

        raw = [c.p_value for c in metrics.comparisons]
        assert [c.adjusted_p_value for c in metrics.comparisons] == adjust_p_values(
            raw, "bonferroni"
        )

    def test_below_the_gates_there_is_no_verdict(self) -> None:
        metrics = compute_metrics(
            report(counts("cta", "original", 80, 5), counts("cta", "colors", 80, 30))
        )

        [comparison] = metrics.comparisons
        assert comparison.status == "not_enough_data"
        assert comparison.verdict is Verdict.NOT_ENOUGH_DATA

    def test_without_exposures_comparisons_have_no_verdict(self) -> None:
        metrics = compute_metrics(
            report(
                counts("cta", "original", None, 50),
                counts("cta", "colors", None, 90),
                has_exposure_event=False,
            )
        )

        [comparison] = metrics.comparisons
        assert comparison.status == "no_exposures"
        assert comparison.verdict is Verdict.NOT_ENOUGH_DATA
        assert comparison.p_value is None

    @pytest.mark.parametrize(
        "quality",
        [
            DataQuality(thresholded=True),
            DataQuality(sampled=True, sampling_ratio=0.25),
            DataQuality(other_row=True),
        ],
    )
    def test_flagged_data_never_yields_a_winner(self, quality: DataQuality) -> None:
        flagged = attrs.evolve(PLANTED, quality=quality)

        metrics = compute_metrics(flagged)

        winner = comparison_for(metrics, "cta", "colors")
        assert winner.verdict is Verdict.INCONCLUSIVE
        assert winner.adjusted_p_value is not None
        assert winner.adjusted_p_value < 0.05

    def test_flagged_data_can_be_trusted_on_request(self) -> None:
        flagged = attrs.evolve(PLANTED, quality=DataQuality(thresholded=True))

        metrics = compute_metrics(
            flagged, config=MetricsConfig(decide_on_flagged_data=True)
        )

        assert comparison_for(metrics, "cta", "colors").verdict is Verdict.BETTER

    def test_notes_and_dropped_buttons_alone_do_not_block_a_winner(self) -> None:
        noted = attrs.evolve(
            PLANTED, quality=DataQuality(dropped_buttons=3, notes=("something",))
        )

        metrics = compute_metrics(noted)

        assert comparison_for(metrics, "cta", "colors").verdict is Verdict.BETTER

    def test_placeholders_are_never_compared(self) -> None:
        metrics = compute_metrics(
            report(
                *PLANTED.counts,
                counts("cta", "(not set)", 5000, 900),
                counts("cta", "(other)", 5000, 900),
                counts("(not set)", "original", 5000, 100),
                counts("(not set)", "colors", 5000, 900),
            )
        )

        compared = {(c.button, c.variant) for c in metrics.comparisons}
        assert compared == {("cta", "colors"), ("cta", "sizes")}
        assert len(metrics.buttons) == 7

    def test_a_button_without_a_control_entry_is_not_compared(self) -> None:
        metrics = compute_metrics(
            report(
                counts("nav", "colors", 5000, 300), counts("nav", "sizes", 5000, 300)
            )
        )

        assert metrics.comparisons == ()

    def test_the_report_names_the_control_variant(self) -> None:
        metrics = compute_metrics(
            attrs.evolve(PLANTED, control_variant="colors"),
        )

        assert {c.variant for c in metrics.comparisons} == {"original", "sizes"}
        assert all(c.control_variant == "colors" for c in metrics.comparisons)
        assert comparison_for(metrics, "cta", "original").verdict is Verdict.WORSE


class TestVariantStandings:
    def test_standings_sum_clicks_over_buttons_against_page_exposures(self) -> None:
        metrics = compute_metrics(
            report(
                *PLANTED.counts,
                counts("nav", "colors", 5000, 100),
                exposures={"original": 5000, "colors": 5000, "sizes": 5000},
            )
        )

        by_name = {s.variant: s for s in metrics.variants}
        assert metrics.variants[0].variant == "original"
        assert by_name["colors"].clicking_users == 405
        assert by_name["colors"].exposed_users == 5000
        assert by_name["colors"].click_through_rate == pytest.approx(0.081)

    def test_probability_best_favours_the_planted_winner_and_sums_to_one(
        self,
    ) -> None:
        metrics = compute_metrics(PLANTED)

        probabilities = {s.variant: s.probability_best for s in metrics.variants}
        assert math.fsum(p or 0.0 for p in probabilities.values()) == pytest.approx(1)
        assert max(probabilities, key=lambda v: probabilities[v] or 0) == "colors"

    def test_placeholder_and_thin_variants_get_no_probability(self) -> None:
        metrics = compute_metrics(
            report(
                *PLANTED.counts,
                counts("cta", "(not set)", 5000, 900),
                counts("cta", "spacing", 50, 10),
                exposures={"original": 5000, "colors": 5000, "(not set)": 5000},
            )
        )

        by_name = {s.variant: s for s in metrics.variants}
        assert by_name["(not set)"].probability_best is None
        assert by_name["spacing"].probability_best is None
        assert by_name["colors"].probability_best is not None

    def test_a_single_variant_gets_no_probability(self) -> None:
        metrics = compute_metrics(report(counts("cta", "original", 5000, 300)))

        [standing] = metrics.variants
        assert standing.probability_best is None

    def test_button_level_exposures_are_summed_without_page_exposures(self) -> None:
        metrics = compute_metrics(
            report(
                counts("cta", "original", 1000, 100), counts("nav", "original", 500, 50)
            )
        )

        [standing] = metrics.variants
        assert standing.exposed_users == 1500
        assert standing.click_through_rate == pytest.approx(0.1)

    def test_without_an_exposure_event_standings_have_no_rate(self) -> None:
        metrics = compute_metrics(
            report(
                counts("cta", "original", None, 100),
                counts("cta", "colors", None, 100),
                has_exposure_event=False,
            )
        )

        for standing in metrics.variants:
            assert standing.exposed_users is None
            assert standing.click_through_rate is None
            assert standing.probability_best is None


class TestSampleRatio:
    def test_an_even_split_is_ok(self) -> None:
        metrics = compute_metrics(PLANTED)

        assert metrics.srm_status == "ok"
        assert metrics.srm_p_value == pytest.approx(1.0)

    def test_a_skewed_split_is_a_mismatch(self) -> None:
        metrics = compute_metrics(
            attrs.evolve(
                PLANTED,
                exposures=(
                    VariantExposure(variant="original", users=5000, events=1),
                    VariantExposure(variant="colors", users=4000, events=1),
                    VariantExposure(variant="(not set)", users=90000, events=1),
                ),
            )
        )

        assert metrics.srm_status == "mismatch"

    def test_the_intended_split_is_configurable(self) -> None:
        metrics = compute_metrics(
            attrs.evolve(
                PLANTED,
                exposures=(
                    VariantExposure(variant="original", users=8000, events=1),
                    VariantExposure(variant="colors", users=2000, events=1),
                ),
            ),
            config=MetricsConfig(traffic_split={"original": 4, "colors": 1}),
        )

        assert metrics.srm_status == "ok"

    def test_no_check_without_page_level_exposures(self) -> None:
        metrics = compute_metrics(
            report(counts("cta", "original", 500, 50), counts("cta", "colors", 50, 5))
        )

        assert metrics.srm_status is None
        assert metrics.srm_p_value is None


class TestReport:
    def test_an_empty_report_gives_empty_metrics(self) -> None:
        metrics = compute_metrics(report())

        assert metrics.buttons == ()
        assert metrics.comparisons == ()
        assert metrics.variants == ()
        assert metrics.srm_status is None

    def test_report_fields_are_carried_over(self) -> None:
        source = attrs.evolve(
            PLANTED, time_zone="Europe/Berlin", quality=DataQuality(notes=("n",))
        )

        metrics = compute_metrics(source)

        assert metrics.property_id == "123456789"
        assert metrics.period == PERIOD
        assert metrics.control_variant == "original"
        assert metrics.time_zone == "Europe/Berlin"
        assert metrics.quality.notes == ("n",)

    def test_metrics_survive_the_converter(self) -> None:
        converter = make_cattrs_converter()
        metrics = compute_metrics(
            report(*PLANTED.counts, counts("cta", "spacing", 100, 120))
        )

        assert converter.structure(converter.unstructure(metrics), MetricsReport) == (
            metrics
        )
