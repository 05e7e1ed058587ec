"""A data source's bad numbers fail at once, clearly, and nothing is saved."""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisRequest,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonReport,
    FetchRequest,
    Period,
)
from ga4_button_workflows.activities import INVALID_REPORT, ButtonAnalyticsActivities
from ga4_button_workflows.aggregate import ReportBuilder, check_report
from ga4_button_workflows.models import (
    ButtonCounts,
    DailyCounts,
    DataQuality,
    VariantExposure,
)
from ga4_button_workflows.notifiers import ConsoleNotifier
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources import SampleDataSource
from ga4_button_workflows.stores import MemoryInsightStore
from ga4_button_workflows.trends import TrendConfig, alerts_to_send, daily_series

PERIOD = Period(datetime.date(2024, 8, 19), datetime.date(2024, 8, 25))
PREVIOUS = Period(datetime.date(2024, 8, 12), datetime.date(2024, 8, 18))


def report(**changes: Any) -> ButtonReport:
    base = ButtonReport(
        property_id="31337",
        period=PERIOD,
        schema_name="original_landing_page",
        counts=(
            ButtonCounts(
                button="cta", variant="original", exposed_users=900, clicking_users=60
            ),
        ),
    )
    return attrs.evolve(base, **changes)


# --- The models refuse what no GA4 report can hold ---------------------------------


class TestModels:
    @pytest.mark.parametrize(
        ("field", "value", "error", "message"),
        [
            ("exposed_users", math.nan, TypeError, "must be a whole number, got float"),
            ("clicking_users", 7.5, TypeError, "must be a whole number, got float 7.5"),
            ("clicking_users", True, TypeError, "whole number, got bool True"),
            ("clicking_users", "12", TypeError, "whole number, got str '12'"),
            ("clicking_users", -5, ValueError, "from 0 to 2\\*\\*63 - 1, got -5"),
            ("click_events", 2**63, ValueError, "from 0 to 2\\*\\*63 - 1"),
            ("hover_duration_total_ms", math.inf, ValueError, "finite, non-negative"),
            ("button", 42, TypeError, "button must be text \\(str\\), got int 42"),
        ],
    )
    def test_button_counts_name_the_field_the_value_and_the_button(
        self, field: str, value: object, error: type[Exception], message: str
    ) -> None:
        fields: dict[str, Any] = {"button": "cta", "variant": "original", field: value}

        with pytest.raises(error, match=message) as caught:
            ButtonCounts(**fields)

        assert field in str(caught.value)
        if field != "button":
            assert "(in ButtonCounts of 'cta' on 'original')" in str(caught.value)

    def test_daily_counts_name_their_day(self) -> None:
        with pytest.raises(ValueError, match=r"of 'cta' on 'colors', 2024-08-20\)"):
            DailyCounts(
                date=datetime.date(2024, 8, 20),
                button="cta",
                variant="colors",
                exposed_users=-100,
            )

    @pytest.mark.parametrize(
        ("value", "hint"),
        [
            ("2024-08-20", r"datetime.date.fromisoformat\('2024-08-20'\)"),
            (
                datetime.datetime(2024, 8, 20, tzinfo=datetime.timezone.utc),
                r"\.date\(\)",
            ),
            (20240820, "got int"),
        ],
    )
    def test_days_must_be_dates(self, value: object, hint: str) -> None:
        with pytest.raises(TypeError, match=hint):
            Period(value, datetime.date(2024, 8, 25))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="calendar day"):
            DailyCounts(date=value, button="cta", variant="colors")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("fields", "error", "message"),
        [
            (
                {"period": "2026-11-01..2026-11-07"},
                TypeError,
                "period must be a Period",
            ),
            ({"daily": ({"date": "2026-11-01"},)}, TypeError, r"daily\[0\] must be"),
            ({"counts": [{"button": "cta"}]}, TypeError, r"counts\[0\] must be a"),
            ({"rows_read": -1}, ValueError, "rows_read must be a count"),
            ({"pages_fetched": "x"}, TypeError, "pages_fetched must be a whole"),
            ({"time_zone": 7}, TypeError, "IANA name"),
            (
                {"quality": {"sampled": True}},
                TypeError,
                "quality must be a DataQuality",
            ),
        ],
    )
    def test_a_report_names_the_field_that_does_not_fit(
        self, fields: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            report(**fields)

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"dropped_buttons": -1}, "dropped_buttons must be a count"),
            ({"sampling_ratio": 1.5}, "share from 0 to 1, got 1.5"),
            ({"sampled": "yes"}, "sampled must be True or False"),
            ({"notes": ("fine", 3)}, r"notes\[1\] must be a str"),
        ],
    )
    def test_data_quality_names_the_field_that_does_not_fit(
        self, fields: dict[str, Any], message: str
    ) -> None:
        with pytest.raises((TypeError, ValueError), match=message):
            DataQuality(**fields)

    def test_largest_real_counts_are_accepted(self) -> None:
        counts = ButtonCounts(
            button="cta",
            variant="original",
            exposed_users=2**63 - 1,
            clicking_users=0,
            hover_duration_total_ms=0,
        )
        exposure = VariantExposure(variant="original", users=0, events=2**63 - 1)

        assert counts.exposed_users == 2**63 - 1
        assert exposure.events == 2**63 - 1


# --- What spans the report -----------------------------------------------------------


class TestCheckReport:
    def test_a_sound_report_passes_unchanged(self) -> None:
        sound = report(
            daily=(DailyCounts(date=PERIOD.end, button="cta", variant="original"),),
            previous_period=PREVIOUS,
            previous_counts=report().counts,
        )

        assert check_report(sound) is sound

    def test_a_day_outside_the_period_is_refused(self) -> None:
        stray = DailyCounts(date=datetime.date(2000, 1, 1), button="cta", variant="x")

        with pytest.raises(ValueError, match=r"1 daily rows fall outside .*2000-01-01"):
            check_report(report(daily=(stray,)))

    @pytest.mark.parametrize(
        "previous",
        [
            PERIOD,
            Period(datetime.date(2024, 7, 20), datetime.date(2024, 8, 18)),
            Period(datetime.date(2024, 8, 11), datetime.date(2024, 8, 17)),
        ],
    )
    def test_a_previous_period_not_just_before_is_refused(
        self, previous: Period
    ) -> None:
        with pytest.raises(ValueError, match=r"report 2024-08-12\.\.2024-08-18"):
            check_report(report(previous_period=previous))

    def test_previous_counts_without_their_period_are_refused(self) -> None:
        with pytest.raises(ValueError, match="previous_counts but no previous_period"):
            check_report(report(previous_counts=report().counts))

    def test_anything_but_a_report_is_refused(self) -> None:
        with pytest.raises(TypeError, match="must return a ButtonReport, got dict"):
            check_report({"counts": []})


# --- Through the workflow ----------------------------------------------------------


class BrokenSource:
    """A host's source with a bug: ``build`` makes its report, or raises."""

    def __init__(self, build: Callable[[FetchRequest], object]) -> None:
        self._build = build
        self.calls = 0

    async def fetch_report(self, request: FetchRequest, context: FetchContext) -> Any:
        self.calls += 1
        return self._build(request)


def nan_counts(request: FetchRequest) -> object:
    return ButtonCounts(button="cta", variant="original", exposed_users=math.nan)


def negative_days(request: FetchRequest) -> object:
    day = DailyCounts(
        date=request.period.start, button="cta", variant="original", clicking_users=-5
    )
    return report(period=request.period, daily=(day,))


def stray_day(request: FetchRequest) -> object:
    day = DailyCounts(date=datetime.date(2000, 1, 1), button="cta", variant="original")
    return report(period=request.period, daily=(day,))


def thirty_day_baseline(request: FetchRequest) -> object:
    end = request.period.start - datetime.timedelta(days=1)
    return report(
        period=request.period,
        previous_period=Period(end - datetime.timedelta(days=29), end),
        previous_counts=report().counts,
    )


def a_dict(request: FetchRequest) -> object:
    return {"counts": [{"button": "cta", "clicks": 5}]}


def folded_row(**row: Any) -> Callable[[FetchRequest], object]:
    def build(request: FetchRequest) -> object:
        builder = ReportBuilder(
            ORIGINAL_LANDING_PAGE,
            property_id=request.property_id,
            period=request.period,
        )
        builder.add_row(
            **{
                "event_name": "cta_click",
                "button": "cta",
                "variant": "original",
                "event_count": 5,
                "users": 4,
                **row,
            }
        )
        return builder.build()

    return build


def another_period(request: FetchRequest) -> object:
    return report(period=Period(datetime.date(2025, 1, 1), datetime.date(2025, 1, 7)))


def another_property(request: FetchRequest) -> object:
    return report(period=request.period, property_id="999999999")


def a_button_twice(request: FetchRequest) -> object:
    return report(period=request.period, counts=report().counts * 2)


def an_unknown_time_zone(request: FetchRequest) -> object:
    return report(period=request.period, time_zone="Mars/Olympus")


def a_nan_sampling_ratio(request: FetchRequest) -> object:
    return report(period=request.period, quality=DataQuality(sampling_ratio=math.nan))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (nan_counts, "exposed_users must be a whole number, got float nan"),
        (negative_days, "clicking_users must be a count from 0 to 2**63 - 1, got -5"),
        (stray_day, "daily rows fall outside the report's period"),
        (thirty_day_baseline, "is not the 7 days just before the period"),
        (a_dict, "must return a ButtonReport, got dict"),
        (folded_row(users=-3), "totalUsers -3 on event 'cta_click' is negative"),
        (folded_row(event_count="12"), "eventCount '12' on event 'cta_click' is a str"),
        (folded_row(duration_ms=math.nan), "hover duration nan on event 'cta_click'"),
        (another_period, "over 2025-01-01..2025-01-07, but property '31337' over"),
        (another_property, "the report is of property '999999999'"),
        (a_button_twice, "counts holds 'cta' on 'original' more than once"),
        (an_unknown_time_zone, "unknown time zone 'Mars/Olympus'"),
        (a_nan_sampling_ratio, "sampling_ratio must be a share from 0 to 1, got nan"),
    ],
)
async def test_a_source_that_builds_a_bad_report_fails_the_workflow_at_once(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    build: Callable[[FetchRequest], object],
    message: str,
) -> None:
    source = BrokenSource(build)
    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(source=source, store=store)

    async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
        with pytest.raises(WorkflowFailureError) as failure:
            await dev_env.client.execute_workflow(
                ButtonAnalyticsWorkflow.run,
                AnalysisRequest(
                    property_id="31337",
                    start_date=PERIOD.start,
                    end_date=PERIOD.end,
                ),
                id=f"wf-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )

    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == INVALID_REPORT
    assert cause.non_retryable
    assert message in cause.message
    assert "built an invalid report" in cause.message
    assert "BrokenSource" in cause.message
    assert source.calls == 1  # never retried
    assert store.analyses == []
    assert (
        await store.daily_history(
            "31337", start=datetime.date.min, end=datetime.date.max
        )
        == []
    )


# --- Wrong kinds of parts and settings ---------------------------------------------


class TestWrongKinds:
    def test_a_store_url_instead_of_a_store_says_how_to_open_it(self) -> None:
        with pytest.raises(
            TypeError, match=r"got str 'sqlite:///x.db'; for a URL use .*open_store"
        ):
            ButtonAnalyticsActivities(SampleDataSource(), store="sqlite:///x.db")  # type: ignore[arg-type]

    def test_the_plugin_refuses_a_store_url_when_it_is_built(self) -> None:
        with pytest.raises(TypeError, match="open_store"):
            ButtonAnalyticsPlugin(source=SampleDataSource(), store="sqlite:///x.db")  # type: ignore[arg-type]

    def test_something_that_is_not_a_source_is_refused(self) -> None:
        with pytest.raises(
            TypeError, match="a data source needs an async fetch_report"
        ):
            ButtonAnalyticsActivities(42)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got str 'ga4'"):
            ButtonAnalyticsActivities({"default": "ga4"})  # type: ignore[dict-item]

    @pytest.mark.parametrize(
        "notifier", ["slack://ops", ["console", ConsoleNotifier()]]
    )
    def test_something_that_is_not_a_notifier_is_refused(self, notifier: Any) -> None:
        with pytest.raises(TypeError, match="a notifier needs a channel name"):
            ButtonAnalyticsActivities(SampleDataSource(), notifier=notifier)

    @pytest.mark.parametrize(
        ("options", "error", "message"),
        [
            ({"visitors_per_variant_per_day": "300"}, TypeError, "got str '300'"),
            ({"visitors_per_variant_per_day": 2.5}, TypeError, "got float 2.5"),
            ({"visitors_per_variant_per_day": -5}, ValueError, "at least 1, got -5"),
            ({"seed": None}, TypeError, "seed must be a whole number"),
            ({"schema": "original_landing_page"}, TypeError, "ORIGINAL_LANDING_PAGE"),
        ],
    )
    def test_the_sample_source_checks_its_options_when_built(
        self, options: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            SampleDataSource(**options)

    def test_daily_series_checks_today_and_config(self) -> None:
        with pytest.raises(TypeError, match=r"today must be a datetime\.date or None"):
            daily_series([], today="2024-05-23")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="config must be a TrendConfig, got dict"):
            daily_series([], today=None, config={"max_days": 3})  # type: ignore[arg-type]

    def test_alerts_to_send_checks_its_config(self) -> None:
        with pytest.raises(TypeError, match="config must be a TrendConfig, got dict"):
            alerts_to_send([], {}, config={"worsen_margin": 0})  # type: ignore[arg-type]
        assert alerts_to_send([], {}, config=TrendConfig()) == []
