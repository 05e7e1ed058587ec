"""The cattrs-based data converter: every model survives Temporal's wire."""

from __future__ import annotations

import datetime
import json
import math

import attrs
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultPayloadConverter
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.converter import (
    INVALID_PAYLOAD,
    ButtonAnalyticsPayloadConverter,
    data_converter,
    install_converter,
)
from ga4_button_workflows.models import (
    AnalysisOutcome,
    AnalysisRecord,
    AnalysisRequest,
    BranchOutcome,
    BranchStatus,
    ButtonCounts,
    ButtonInsights,
    ButtonMetrics,
    ButtonReport,
    DataQuality,
    MetricsReport,
    Period,
    Recommendation,
    StepProgress,
    VariantComparison,
    VariantExposure,
    VariantStanding,
    Verdict,
)
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.stats import Interval

PERIOD = Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 14))
AWARE = datetime.datetime(2026, 11, 15, 6, 30, tzinfo=datetime.timezone.utc)
BERLIN = datetime.datetime(
    2026, 11, 15, 7, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
)

METRICS = ButtonMetrics(
    button="cta",
    variant="colors",
    exposed_users=1000,
    exposure_events=1500,
    clicking_users=61,
    click_events=70,
    hovering_users=300,
    hover_events=420,
    click_through_rate=0.061,
    click_through_interval=Interval(lower=0.0477, upper=0.0776),
    hover_to_click_rate=0.2033,
    mean_hover_duration_ms=1234.5,
    engagement_score=0.42,
    enough_data=True,
)
COMPARISON = VariantComparison(
    button="cta",
    control_variant="original",
    variant="colors",
    status="ok",
    verdict=Verdict.BETTER,
    control_rate=0.042,
    variant_rate=0.061,
    difference=0.019,
    difference_interval=Interval(lower=0.0, upper=0.038),
    relative_lift=0.45,
    lift_interval=None,
    p_value=0.0004,
    adjusted_p_value=0.002,
    chance_to_beat=0.998,
)
INSIGHTS = ButtonInsights(
    timestamp=BERLIN,
    best_performing_button="cta on colors",
    worst_performing_button=None,
    most_engaging_variant="colors",
    recommendations=("✅ cta on colors is performing excellently",),
    performance_summary={"total_buttons_analyzed": 1, "nested": {"a": [1, 2.5]}},
    property_id="123",
    period=PERIOD,
    selection_note=None,
    buttons=(METRICS, METRICS),
    comparisons=(COMPARISON,),
    variants=(
        VariantStanding(
            variant="colors",
            clicking_users=61,
            exposed_users=1000,
            click_through_rate=0.061,
            mean_engagement_score=0.42,
            probability_best=0.91,
        ),
    ),
    recommendation_details=(
        Recommendation(
            kind="significant_winner",
            text="✅ colors beats original",
            button="cta",
            variant="colors",
            evidence={"p": 0.002, "n": 1000, "label": "x", "none": None},
        ),
    ),
    caveats=("thresholded",),
)
REPORT = ButtonReport(
    property_id="123",
    period=PERIOD,
    schema_name="original_landing_page",
    counts=(ButtonCounts(button="cta", variant="colors", exposed_users=None),),
    exposures=(VariantExposure(variant="colors", users=10, events=12),),
    quality=DataQuality(thresholded=True, sampling_ratio=0.5, notes=("x",)),
)
MODELS = [
    AnalysisRequest(property_id="123", start_date=PERIOD.start, end_date=PERIOD.end),
    AnalysisRequest(property_id="123", report_date=datetime.date(2026, 1, 2)),
    ORIGINAL_LANDING_PAGE,
    REPORT,
    METRICS,
    COMPARISON,
    MetricsReport(
        property_id="123",
        period=PERIOD,
        schema_name="s",
        control_variant="original",
        buttons=(METRICS,),
        comparisons=(COMPARISON,),
        variants=(),
    ),
    INSIGHTS,
    AnalysisRecord(
        analysis_id="a",
        workflow_id="w",
        run_id="r",
        property_id="123",
        period=None,
        saved_at=AWARE,
        insights=INSIGHTS,
    ),
    AnalysisOutcome(
        analysis_id="a",
        property_id="123",
        period=PERIOD,
        insights=INSIGHTS,
        saved=BranchOutcome(status=BranchStatus.DONE, detail="ok"),
        notified=BranchOutcome(status=BranchStatus.FAILED, detail="x"),
    ),
    StepProgress(step="fetch_ga4_data", finished_at=AWARE),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: type(model).__name__)
def test_every_model_round_trips_through_the_payload_converter(model: object) -> None:
    converter = data_converter.payload_converter
    payloads = converter.to_payloads([model])
    assert payloads[0].metadata["encoding"] == b"json/plain"
    (decoded,) = converter.from_payloads(payloads, [type(model)])
    assert decoded == model


def test_aware_datetimes_keep_their_offset() -> None:
    converter = data_converter.payload_converter
    (decoded,) = converter.from_payloads(
        converter.to_payloads([INSIGHTS]), [ButtonInsights]
    )
    assert decoded.timestamp.utcoffset() == datetime.timedelta(hours=1)
    assert decoded.timestamp == BERLIN


def test_payload_is_plain_json_with_enum_values_and_iso_dates() -> None:
    (payload,) = data_converter.payload_converter.to_payloads([COMPARISON])
    document = json.loads(payload.data)
    assert document["verdict"] == "better"
    (period_payload,) = data_converter.payload_converter.to_payloads([PERIOD])
    assert json.loads(period_payload.data) == {
        "start": "2026-11-01",
        "end": "2026-11-14",
    }


def test_payload_written_before_a_field_was_added_still_decodes() -> None:
    (payload,) = data_converter.payload_converter.to_payloads([REPORT])
    document = json.loads(payload.data)
    # Fields added after the first release carry defaults: an old payload lacks them.
    del document["pages_fetched"]
    del document["quality"]["placeholder_rows"]
    old = Payload(metadata=payload.metadata, data=json.dumps(document).encode())
    (decoded,) = data_converter.payload_converter.from_payloads([old], [ButtonReport])
    assert decoded == attrs.evolve(
        REPORT,
        pages_fetched=0,
        quality=attrs.evolve(REPORT.quality, placeholder_rows=0),
    )


def test_payload_from_a_newer_version_with_unknown_keys_still_decodes() -> None:
    (payload,) = data_converter.payload_converter.to_payloads([PERIOD])
    document = {**json.loads(payload.data), "added_later": 1}
    newer = Payload(metadata=payload.metadata, data=json.dumps(document).encode())
    (decoded,) = data_converter.payload_converter.from_payloads([newer], [Period])
    assert decoded == PERIOD


def test_nan_never_leaves_through_the_converter() -> None:
    broken = attrs.evolve(METRICS, engagement_score=math.nan)
    with pytest.raises(ValueError, match="Out of range float"):
        data_converter.payload_converter.to_payloads([broken])


def test_plain_values_and_untyped_decoding_still_work() -> None:
    converter = data_converter.payload_converter
    values = [None, b"raw", "text", 3, [1, 2], {"a": 1}]
    decoded = converter.from_payloads(converter.to_payloads(values))
    assert decoded == values


def test_install_converter_keeps_the_hosts_codec_and_failure_converter() -> None:
    class Codec:
        async def encode(self, payloads: object) -> object:
            return payloads

        async def decode(self, payloads: object) -> object:
            return payloads

    codec = Codec()
    host = DataConverter(payload_codec=codec)  # type: ignore[arg-type]
    installed = install_converter(host)
    assert installed.payload_codec is codec
    assert installed.payload_converter_class is ButtonAnalyticsPayloadConverter
    assert installed.failure_converter_class is host.failure_converter_class
    assert install_converter(installed) is installed
    assert install_converter(None) is data_converter


def test_install_converter_refuses_a_different_payload_converter() -> None:
    class PydanticLike(DefaultPayloadConverter):
        pass

    with pytest.raises(TypeError, match="PydanticLike"):
        install_converter(DataConverter(payload_converter_class=PydanticLike))


class TestStrictScalars:
    """cattrs alone reads 7.5 as 7 and "false" as true; the payloads refuse both."""

    @staticmethod
    def decode(document: dict[str, object]) -> AnalysisRequest:
        payload = Payload(
            metadata={"encoding": b"json/plain"}, data=json.dumps(document).encode()
        )
        decoded = ButtonAnalyticsPayloadConverter().from_payloads(
            [payload], [AnalysisRequest]
        )[0]
        assert isinstance(decoded, AnalysisRequest)
        return decoded

    def test_a_whole_float_is_a_whole_number(self) -> None:
        assert self.decode({"property_id": "5", "days_back": 7.0}).days_back == 7

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("days_back", 7.5, "expected a whole number, got 7.5 @ $.days_back"),
            ("days_back", "7", "expected a whole number, got '7' @ $.days_back"),
            ("days_back", True, "expected a whole number, got True @ $.days_back"),
            ("notify", "false", "expected true or false, got 'false' @ $.notify"),
            ("notify", 0, "expected true or false, got 0 @ $.notify"),
        ],
    )
    def test_a_value_of_the_wrong_kind_is_refused_for_good(
        self, field: str, value: object, message: str
    ) -> None:
        with pytest.raises(ApplicationError) as refused:
            self.decode({"property_id": "5", field: value})

        assert refused.value.type == INVALID_PAYLOAD
        assert refused.value.non_retryable
        assert message in refused.value.message
