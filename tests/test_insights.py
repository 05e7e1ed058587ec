"""Insights: picks, recommendations, caveats and the published JSON document."""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any

import attrs
import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.insights import (
    InsightsConfig,
    InsightsDocumentError,
    generate_insights,
    insights_document,
    insights_json_schema,
    validate_insights_document,
)
from ga4_button_workflows.metrics import MetricsConfig, compute_metrics
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonInsights,
    ButtonReport,
    DataQuality,
    Period,
    VariantExposure,
    Verdict,
    is_placeholder,
)

PERIOD = Period(datetime.date(2024, 1, 1), datetime.date(2024, 1, 7))
NOW = datetime.datetime(2024, 1, 8, 6, 0, tzinfo=datetime.timezone.utc)
PREFIXES = ("✅ ", "⚠️ ", "💡 ", "🎯 ")
SIGNIFICANCE_KINDS = {"significant_winner", "significant_loser"}
ZERO_PERCENT = re.compile(r"(?<![\d.])0(?:\.0+)?%")
SUMMARY_KEYS = {
    "total_buttons_analyzed",
    "average_engagement_score",
    "most_clicked_button",
    "best_engagement_score",
    "worst_engagement_score",
    "highest_ctr_button",
    "total_exposed_users",
    "total_clicking_users",
    "total_click_events",
    "total_hovering_users",
    "total_hover_events",
    "period_start",
    "period_end",
    "property_id",
    "schema",
}


def counts(
    button: str, variant: str, exposed: int | None, clicking: int, **extra: Any
) -> ButtonCounts:
    extra.setdefault("click_events", clicking)
    return ButtonCounts(
        button=button,
        variant=variant,
        exposed_users=exposed,
        clicking_users=clicking,
        **extra,
    )


def report(
    *entries: ButtonCounts,
    exposures: dict[str, int] | None = None,
    quality: DataQuality | None = None,
    has_exposure_event: bool = True,
) -> ButtonReport:
    return ButtonReport(
        property_id="123456789",
        period=PERIOD,
        schema_name="test",
        counts=entries,
        exposures=tuple(
            VariantExposure(variant=name, users=users, events=users * 2)
            for name, users in sorted((exposures or {}).items())
        ),
        has_exposure_event=has_exposure_event,
        quality=quality or DataQuality(),
    )


def insights_of(
    source: ButtonReport,
    *,
    metrics_config: MetricsConfig | None = None,
    config: InsightsConfig | None = None,
) -> ButtonInsights:
    metrics = compute_metrics(source, config=metrics_config)
    if config is None and metrics_config is not None:
        config = InsightsConfig(metrics_config=metrics_config)
    return generate_insights(metrics, generated_at=NOW, config=config)


def kinds(insights: ButtonInsights) -> list[str]:
    return [item.kind for item in insights.recommendation_details]


def assert_valid(insights: ButtonInsights) -> dict[str, Any]:
    document = insights_document(insights)
    validate_insights_document(document)
    json.dumps(document, allow_nan=False)
    return document


LANDING = report(
    counts(
        "cta",
        "original",
        5000,
        210,
        hover_duration_total_ms=1.6e6,
        hover_duration_events=700,
    ),
    counts(
        "cta",
        "colors",
        5000,
        305,
        hover_duration_total_ms=8e5,
        hover_duration_events=700,
    ),
    counts(
        "cta",
        "sizes",
        5000,
        212,
        hover_duration_total_ms=8e5,
        hover_duration_events=700,
    ),
    counts("nav", "original", 5000, 1200),
    counts("nav", "colors", 5000, 1210),
    counts("nav", "sizes", 5000, 1190),
    exposures={"original": 5000, "colors": 5000, "sizes": 5000},
)


class TestGoldenReports:
    def test_a_planted_winner_is_found_and_reported_with_its_numbers(self) -> None:
        insights = insights_of(LANDING)

        [winner] = [
            item
            for item in insights.recommendation_details
            if item.kind == "significant_winner"
        ]
        assert (winner.button, winner.variant) == ("cta", "colors")
        assert winner.text.startswith(
            "✅ colors beats original for cta: CTR 6.1% vs 4.2%, +45% "
            "(95% CI +20% to +70%), adjusted p "
        )
        assert winner.evidence["relative_lift"] == pytest.approx(305 / 210 - 1, 1e-5)
        assert winner.evidence["control_rate"] == pytest.approx(0.042)
        assert winner.evidence["variant_rate"] == pytest.approx(0.061)
        assert winner.evidence["adjusted_p_value"] < 0.05  # type: ignore[operator]
        assert insights.most_engaging_variant == "colors"
        assert insights.most_engaging_variant_probability is not None
        assert insights.most_engaging_variant_probability > 0.5

    def test_two_equal_variants_are_inconclusive_with_their_interval(self) -> None:
        insights = insights_of(LANDING)

        [item] = [
            item
            for item in insights.recommendation_details
            if item.kind == "inconclusive"
            and (item.button, item.variant) == ("cta", "sizes")
        ]
        assert item.text.startswith("💡 sizes vs original for cta is inconclusive: ")
        assert "95% CI " in item.text
        assert item.evidence["lift_lower"] < 0 < item.evidence["lift_upper"]  # type: ignore[operator]
        comparison = next(
            c for c in insights.comparisons if (c.button, c.variant) == ("cta", "sizes")
        )
        assert comparison.verdict is Verdict.INCONCLUSIVE

    def test_best_is_the_highest_lower_bound_and_worst_the_lowest_upper_bound(
        self,
    ) -> None:
        insights = insights_of(LANDING)

        assert insights.best_performing_button == "nav on colors"
        assert insights.worst_performing_button == "cta on original"
        assert insights.selection_note is None

    def test_a_small_lucky_button_does_not_win_on_its_point_estimate(self) -> None:
        insights = insights_of(
            report(
                counts("big", "original", 100_000, 30_000),
                counts("lucky", "original", 100, 36),
                counts("low", "original", 100_000, 5_000),
            )
        )

        # 36% of 100 has a Wilson lower bound (27%) under 30% of 100,000's.
        assert insights.best_performing_button == "big on original"
        assert insights.worst_performing_button == "low on original"

    def test_every_button_below_the_gates_says_not_enough_data(self) -> None:
        insights = insights_of(
            report(
                counts("cta", "original", 90, 20),
                counts("cta", "colors", 90, 30),
                counts("nav", "original", 5000, 10),
                exposures={"original": 5000, "colors": 90},
            )
        )

        assert insights.best_performing_button is None
        assert insights.worst_performing_button is None
        assert insights.most_engaging_variant is None
        assert insights.selection_note is not None
        assert insights.selection_note.startswith("not enough data")
        assert "100 exposed users" in insights.selection_note
        assert "25 clicked" in insights.selection_note
        assert "not_enough_data" in kinds(insights)
        assert "comparisons_need_data" in kinds(insights)
        assert not SIGNIFICANCE_KINDS & set(kinds(insights))
        assert insights.performance_summary["buttons_with_enough_data"] == 0
        assert insights.performance_summary["highest_ctr_button"] is None
        assert_valid(insights)

    def test_placeholders_are_never_best_or_worst(self) -> None:
        insights = insights_of(
            report(
                counts("(not set)", "original", 5000, 2500),
                counts("cta", "(other)", 5000, 2400),
                counts("", "original", 5000, 2450),
                counts("cta", "original", 5000, 300),
                counts("nav", "original", 5000, 1),
                counts("(other)", "original", 5000, 26),
            )
        )

        assert insights.best_performing_button == "cta on original"
        assert insights.worst_performing_button is None
        assert insights.selection_note is not None
        assert "only cta on original has enough data" in insights.selection_note
        assert insights.performance_summary["most_clicked_button"] == "cta on original"

    def test_only_placeholders_qualifying_means_no_pick(self) -> None:
        insights = insights_of(report(counts("(not set)", "original", 5000, 2500)))

        assert insights.best_performing_button is None
        assert insights.selection_note is not None
        assert "placeholders" in insights.selection_note

    def test_no_exposure_event_leaves_ctr_absent_and_says_why(self) -> None:
        insights = insights_of(
            report(
                counts("cta", "default", None, 300, hovering_users=900),
                counts("nav", "default", None, 100, hovering_users=200),
                has_exposure_event=False,
            )
        )

        assert all(entry.click_through_rate is None for entry in insights.buttons)
        assert insights.best_performing_button is None
        assert insights.selection_note is not None
        assert "no exposure event" in insights.selection_note
        assert any("exposure event" in caveat for caveat in insights.caveats)
        assert kinds(insights)[0] == "no_exposure_event"
        assert insights.performance_summary["total_exposed_users"] is None
        assert not any(ZERO_PERCENT.search(text) for text in insights.recommendations)
        assert_valid(insights)

    def test_no_data_at_all_is_a_valid_document_that_says_no_data(self) -> None:
        insights = insights_of(report())

        assert insights.best_performing_button is None
        assert insights.most_engaging_variant is None
        assert insights.selection_note is not None
        assert insights.selection_note.startswith("no data")
        assert kinds(insights) == ["no_data"]
        summary = insights.performance_summary
        assert summary["has_data"] is False
        assert summary["total_buttons_analyzed"] == 0
        assert summary["average_engagement_score"] is None
        assert summary["best_engagement_score"] is None
        assert not any(ZERO_PERCENT.search(text) for text in insights.recommendations)
        assert_valid(insights)

    def test_huge_counts_give_a_finite_valid_document(self) -> None:
        big = 10**12
        insights = insights_of(
            report(
                counts(
                    "cta",
                    "original",
                    big,
                    big // 20,
                    click_events=big,
                    hovering_users=big,
                    hover_duration_total_ms=1e18,
                    hover_duration_events=big,
                ),
                counts("cta", "colors", big, big // 19, click_events=big),
                exposures={"original": big, "colors": big},
            )
        )

        document = assert_valid(insights)
        assert document["best_performing_button"] == "cta on colors"
        assert "significant_winner" in kinds(insights)


class TestDataQuality:
    @pytest.mark.parametrize(
        ("quality", "words"),
        [
            (DataQuality(thresholded=True), "thresholding"),
            (DataQuality(sampled=True, sampling_ratio=0.125), "12.5% of the events"),
            (DataQuality(other_row=True), "(other)"),
        ],
    )
    def test_flagged_data_is_a_caveat_and_never_a_confident_winner(
        self, quality: DataQuality, words: str
    ) -> None:
        insights = insights_of(attrs.evolve(LANDING, quality=quality))

        assert any(words in caveat for caveat in insights.caveats)
        assert not SIGNIFICANCE_KINDS & set(kinds(insights))
        assert "data_quality" in kinds(insights)
        [unconfirmed] = [
            item
            for item in insights.recommendation_details
            if item.kind == "unconfirmed_difference"
        ]
        assert unconfirmed.variant == "colors"
        assert "not a confident result" in unconfirmed.text
        assert all(
            c.verdict not in (Verdict.BETTER, Verdict.WORSE)
            for c in insights.comparisons
        )

    def test_notes_dropped_buttons_and_placeholder_rows_become_caveats(self) -> None:
        quality = DataQuality(
            dropped_buttons=4, placeholder_rows=7, notes=("ignored events: scroll",)
        )

        insights = insights_of(attrs.evolve(LANDING, quality=quality))

        assert "Ignored events: scroll." in insights.caveats
        assert any("4 buttons" in caveat for caveat in insights.caveats)
        assert any("7 GA4 rows" in caveat for caveat in insights.caveats)
        assert "significant_winner" in kinds(insights)

    def test_capped_click_through_rates_are_a_caveat(self) -> None:
        insights = insights_of(report(counts("cta", "original", 100, 130)))

        assert any("capped at 100%" in caveat for caveat in insights.caveats)

    def test_a_sample_ratio_mismatch_is_warned_about(self) -> None:
        skewed = attrs.evolve(
            LANDING,
            exposures=(
                VariantExposure(variant="original", users=5000, events=1),
                VariantExposure(variant="colors", users=5000, events=1),
                VariantExposure(variant="sizes", users=4000, events=1),
            ),
        )

        insights = insights_of(skewed)

        [warning] = [
            item
            for item in insights.recommendation_details
            if item.kind == "sample_ratio_mismatch"
        ]
        assert warning.text.startswith("⚠️ Sample-ratio mismatch")
        assert "sizes 4,000" in warning.text
        assert warning.evidence["status"] == "mismatch"
        assert any("intended split" in caveat for caveat in insights.caveats)

    def test_a_lift_of_fifty_percent_or_more_asks_to_check_tracking(self) -> None:
        insights = insights_of(
            report(
                counts("cta", "original", 5000, 200), counts("cta", "colors", 5000, 320)
            )
        )

        [check] = [
            item
            for item in insights.recommendation_details
            if item.kind == "check_tracking"
        ]
        assert check.text.startswith("⚠️ colors shows a +60% lift over original")
        assert "check tracking" in check.text
        assert check.evidence["relative_lift"] == pytest.approx(0.6)


class TestRules:
    def test_the_original_rules_on_the_bounded_score(self) -> None:
        insights = insights_of(
            report(
                counts(
                    "hero",
                    "original",
                    10_000,
                    5000,
                    click_events=20_000,
                    hover_duration_total_ms=3e7,
                    hover_duration_events=10_000,
                ),
                counts("footer", "original", 10_000, 100, click_events=100),
            )
        )

        by_kind = {item.kind: item for item in insights.recommendation_details}
        assert by_kind["performing_excellently"].text.startswith(
            "✅ hero on original is performing excellently (engagement score 0."
        )
        assert by_kind["make_more_prominent"].text == (
            "💡 Users hover over hero on original for 3.0 s on average before "
            "acting: make it more prominent"
        )
        assert by_kind["needs_improvement"].button == "footer"
        assert by_kind["clearer_call_to_action"].text.startswith(
            "🎯 footer on original has a low click-through rate (1.0%, 95% CI "
        )
        assert by_kind["clearer_call_to_action"].evidence["threshold"] == 0.02

    def test_thresholds_are_configurable(self) -> None:
        config = InsightsConfig(low_click_through_rate=0.5, long_hover_ms=10_000.0)

        insights = insights_of(
            report(
                counts(
                    "hero",
                    "original",
                    1000,
                    300,
                    hover_duration_total_ms=3e6,
                    hover_duration_events=1000,
                )
            ),
            config=config,
        )

        assert "clearer_call_to_action" in kinds(insights)
        assert "make_more_prominent" not in kinds(insights)

    def test_recommendations_are_capped_with_a_last_word(self) -> None:
        many = report(
            *(counts(f"b{i:02d}", "original", 1000, 30) for i in range(30)),
        )

        insights = insights_of(many, config=InsightsConfig(max_recommendations=5))

        assert len(insights.recommendations) == 5
        assert insights.recommendation_details[-1].kind == "more_recommendations"
        assert insights.recommendation_details[-1].evidence["left_out"] == 26

    def test_long_reports_list_the_most_clicked_buttons_and_the_picks(self) -> None:
        many = report(
            *(counts(f"b{i:02d}", "original", 1000, 100 + i) for i in range(30)),
            counts("zz", "original", 100_000, 90_000, click_events=1),
        )

        insights = insights_of(many, config=InsightsConfig(max_listed_buttons=3))

        listed = {entry.button for entry in insights.buttons}
        assert listed == {"b29", "b28", "b27", "zz", "b00"}
        assert insights.best_performing_button == "zz on original"
        assert insights.performance_summary["total_buttons_analyzed"] == 31
        assert any("lists the 5 most clicked" in c for c in insights.caveats)

    @pytest.mark.parametrize(
        "settings_",
        [
            {"excellent_score": 1.5},
            {"poor_score": -0.1},
            {"long_hover_ms": math.nan},
            {"max_recommendations": 0},
            {"max_listed_buttons": 0},
        ],
    )
    def test_invalid_thresholds_are_refused(self, settings_: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match=next(iter(settings_))):
            InsightsConfig(**settings_)


class TestDocument:
    def test_the_summary_keeps_the_original_keys_and_adds_totals(self) -> None:
        insights = insights_of(LANDING)

        summary = insights.performance_summary
        assert summary.keys() >= SUMMARY_KEYS
        assert summary["total_buttons_analyzed"] == 6
        assert summary["total_exposed_users"] == 15_000
        assert summary["total_clicking_users"] == 210 + 305 + 212 + 1200 + 1210 + 1190
        assert summary["period_start"] == "2024-01-01"
        assert summary["period_end"] == "2024-01-07"
        assert summary["property_id"] == "123456789"
        assert summary["schema"] == "test"
        assert summary["most_clicked_button"] == "nav on colors"
        assert (
            0 <= summary["worst_engagement_score"] <= summary["best_engagement_score"]
        )

    def test_strings_and_records_say_the_same(self) -> None:
        insights = insights_of(LANDING)

        assert insights.recommendations == tuple(
            item.text for item in insights.recommendation_details
        )
        assert all(text.startswith(PREFIXES) for text in insights.recommendations)

    def test_the_document_carries_the_evidence_sections(self) -> None:
        insights = insights_of(LANDING)

        assert insights.property_id == "123456789"
        assert insights.period == PERIOD
        assert insights.schema_name == "test"
        assert len(insights.buttons) == 6
        assert len(insights.comparisons) == 4
        assert [v.variant for v in insights.variants] == ["original", "colors", "sizes"]

    def test_the_timestamp_is_utc_and_must_be_aware(self) -> None:
        metrics = compute_metrics(LANDING)
        berlin = datetime.timezone(datetime.timedelta(hours=1))

        insights = generate_insights(
            metrics, generated_at=datetime.datetime(2024, 1, 8, 7, tzinfo=berlin)
        )

        assert insights.timestamp == NOW
        assert insights.timestamp.utcoffset() == datetime.timedelta(0)
        with pytest.raises(ValueError, match="no time zone"):
            generate_insights(metrics, generated_at=NOW.replace(tzinfo=None))

    def test_the_schema_is_draft_2020_12_and_describes_every_property(self) -> None:
        schema = insights_json_schema()

        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        model_fields = {field.name for field in attrs.fields(ButtonInsights)}
        assert set(schema["properties"]) == model_fields
        for name, definition in schema["properties"].items():
            assert definition.get("description") or definition.get("$ref"), name

    def test_the_document_round_trips_through_the_converter(self) -> None:
        insights = insights_of(LANDING)
        converter = make_cattrs_converter()

        document = json.loads(json.dumps(assert_valid(insights)))

        assert converter.structure(document, ButtonInsights) == insights

    def test_validation_rejects_nan_and_schema_violations(self) -> None:
        document = insights_document(insights_of(LANDING))

        with pytest.raises(InsightsDocumentError, match="NaN or infinity at"):
            validate_insights_document(
                {**document, "most_engaging_variant_probability": math.nan}
            )
        with pytest.raises(InsightsDocumentError, match="recommendations"):
            validate_insights_document({**document, "recommendations": "not a list"})
        broken = {**document, "performance_summary": {"total_buttons_analyzed": 1}}
        with pytest.raises(InsightsDocumentError, match="does not match"):
            validate_insights_document(broken)


@st.composite
def reports(draw: st.DrawFn) -> ButtonReport:
    has_exposure_event = draw(st.booleans().map(lambda b: b or draw(st.booleans())))
    variants = draw(
        st.lists(
            st.sampled_from(["original", "colors", "sizes", "(not set)", "(other)"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    buttons = draw(
        st.lists(
            st.sampled_from(["cta", "nav", "card", "(not set)"]),
            min_size=0,
            max_size=3,
            unique=True,
        )
    )
    users = st.integers(0, 3000)
    entries: list[ButtonCounts] = []
    for button in buttons:
        for variant in variants:
            if not draw(st.booleans()) and len(entries) > 0:
                continue
            exposed = draw(users) if has_exposure_event else None
            entries.append(
                ButtonCounts(
                    button=button,
                    variant=variant,
                    exposed_users=exposed,
                    clicking_users=draw(users),
                    click_events=draw(users),
                    hovering_users=draw(users),
                    hover_events=draw(users),
                    hover_duration_total_ms=draw(st.floats(0, 1e8)),
                    hover_duration_events=draw(st.integers(0, 3000)),
                )
            )
    quality = DataQuality(
        thresholded=draw(st.booleans()),
        sampled=draw(st.booleans()),
        sampling_ratio=draw(st.none() | st.floats(0.01, 1.0)),
        other_row=draw(st.booleans()),
        dropped_buttons=draw(st.integers(0, 3)),
    )
    exposures = (
        tuple(
            VariantExposure(variant=variant, users=draw(users), events=draw(users))
            for variant in variants
        )
        if has_exposure_event and draw(st.booleans())
        else ()
    )
    return ButtonReport(
        property_id="123456789",
        period=PERIOD,
        schema_name="hypothesis",
        counts=tuple(sorted(entries, key=lambda c: (c.button, c.variant))),
        exposures=exposures,
        has_exposure_event=has_exposure_event,
        quality=quality if draw(st.booleans()) else DataQuality(),
    )


class TestProperties:
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(source=reports())
    def test_every_document_is_sound(self, source: ButtonReport) -> None:
        metrics = compute_metrics(source)
        insights = generate_insights(metrics, generated_at=NOW)

        assert_valid(insights)
        best, worst = insights.best_performing_button, insights.worst_performing_button
        if best is not None and worst is not None:
            assert best != worst
        labels = {entry.label: entry for entry in metrics.buttons}
        for pick in (best, worst):
            if pick is not None:
                entry = labels[pick]
                assert entry.enough_data
                assert not is_placeholder(entry.button)
                assert not is_placeholder(entry.variant)
        if best is None:
            assert insights.selection_note
        if insights.most_engaging_variant is not None:
            assert not is_placeholder(insights.most_engaging_variant)
        qualifying = [
            e
            for e in metrics.buttons
            if e.enough_data
            and not is_placeholder(e.button)
            and not is_placeholder(e.variant)
        ]
        assert (best is None) == (not qualifying or not metrics.has_exposure_event)

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(source=reports())
    def test_no_recommendation_claims_significance_without_a_decision(
        self, source: ButtonReport
    ) -> None:
        metrics = compute_metrics(source)
        insights = generate_insights(metrics, generated_at=NOW)

        comparisons = {(c.button, c.variant): c for c in metrics.comparisons}
        quality = metrics.quality
        flagged = quality.thresholded or quality.sampled or quality.other_row
        for item in insights.recommendation_details:
            assert item.text.startswith(PREFIXES)
            claims = item.kind in SIGNIFICANCE_KINDS or item.kind in {
                "unconfirmed_difference",
                "check_tracking",
            }
            if not claims:
                assert " beats " not in item.text
                continue
            comparison = comparisons[(item.button, item.variant)]  # type: ignore[index]
            assert comparison.status in {"ok", "zero_baseline"}
            if item.kind in SIGNIFICANCE_KINDS:
                assert not flagged
                assert comparison.adjusted_p_value is not None
                assert comparison.adjusted_p_value <= 0.05
