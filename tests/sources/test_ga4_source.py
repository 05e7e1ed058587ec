"""GA4DataSource driven through the real google-analytics-data client and the emulator.

Each class covers one group of ga4_cases.md; transports are parametrised where
the wire differs (REST sends JSON with enum names and leaves zeros out, gRPC
sends protobuf).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pytest
from google.auth.credentials import AnonymousCredentials
from hypothesis import given
from hypothesis import strategies as st
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisRequest,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
)
from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.insights import generate_insights
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    ButtonReport,
    FetchRequest,
    Period,
    Verdict,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import GENERIC_BUTTONS, ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_errors import DATA_ERROR, SERVER_ERROR
from ga4_button_workflows.sources._ga4_rows import (
    DailyCountsFolder,
    parse_ga4_date,
    parse_metric_value,
)
from ga4_button_workflows.sources.ga4 import (
    GA4DataSource,
    GA4FetchState,
    aggregate_report_request,
    daily_report_request,
)
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing import EmulatedEvent, Fault, GA4Emulator, QuotaLimits
from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

TODAY = datetime.date(2024, 5, 10)
PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
TRANSPORTS = ["grpc", "rest"]
LANDING = ["eventName", "customEvent:button_type", "customEvent:page_variant"]
LANDING_METRICS = {
    "eventCount": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "customEvent:hover_duration": "TYPE_MILLISECONDS",
}
GENERIC = ["eventName", "customEvent:button_id", "customEvent:page_variant"]

Row = tuple[Sequence[str], Sequence[Any]]


def ga4_source(
    emulator: GA4Emulator, transport: str = "grpc", **options: Any
) -> GA4DataSource:
    """A source whose client the emulator builds (and the source closes)."""
    factory: Callable[[], Any] = (
        functools.partial(emulator.client, "rest")
        if transport == "rest"
        else emulator.async_client
    )
    return GA4DataSource(client_factory=factory, **options)


async def fetch(
    emulator: GA4Emulator,
    transport: str = "grpc",
    *,
    period: Period = PERIOD,
    context: FetchContext | None = None,
    time_zone: str = "America/Los_Angeles",
    **options: Any,
) -> ButtonReport:
    source = ga4_source(emulator, transport, **options)
    try:
        return await source.fetch_report(
            FetchRequest(
                property_id=emulator.property_id, period=period, time_zone=time_zone
            ),
            context or FetchContext(),
        )
    finally:
        await source.aclose()


def table(
    rows: Sequence[Row] | Callable[[int], Row],
    *,
    dimensions: Sequence[str] = LANDING,
    metrics: dict[str, str] | None = None,
    **options: Any,
) -> GA4Emulator:
    return GA4Emulator.from_rows(
        dimensions, metrics or LANDING_METRICS, rows, today=TODAY, **options
    )


def event(
    name: str, user: str, day: datetime.date = PERIOD.start, **params: Any
) -> EmulatedEvent:
    return EmulatedEvent(date=day, user_id=user, event_name=name, params=params)


def landing_events(days: int = 3, visitors: int = 30, seed: int = 11) -> list[Any]:
    return [
        EmulatedEvent(
            date=e.date, user_id=e.user_id, event_name=e.event_name, params=e.params
        )
        for e in generate_landing_page_traffic(
            start=PERIOD.start,
            days=days,
            visitors_per_variant_per_day=visitors,
            seed=seed,
        )
    ]


def events_emulator(events: Sequence[EmulatedEvent], **options: Any) -> GA4Emulator:
    return GA4Emulator(
        events,
        custom_dimensions=["button_type", "page_variant", "button_id"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=TODAY,
        **options,
    )


def offsets(emulator: GA4Emulator) -> list[int]:
    return sorted(record.offset for record in emulator.report_requests())


def total_clicks(report: ButtonReport) -> int:
    return sum(counts.click_events for counts in report.counts)


class TestPagination:
    @pytest.mark.slow
    async def test_250001_rows_take_exactly_three_requests_each_row_once(
        self,
    ) -> None:
        def row(index: int) -> Row:
            return (("cta_click", f"b{index % 7}", f"v{index % 5}"), (1, 1, 0))

        async with table(row, row_count=250_001) as emulator:
            report = await fetch(emulator, page_size=100_000)

        requests = emulator.report_requests()
        assert [
            (r.offset, r.limit) for r in sorted(requests, key=lambda r: r.offset)
        ] == [
            (0, 100_000),
            (100_000, 100_000),
            (200_000, 50_001),
        ]
        assert report.rows_read == 250_001
        assert report.pages_fetched == 3
        assert total_clicks(report) == 250_001

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_short_pages_are_paged_on_by_rows_received(
        self, transport: str
    ) -> None:
        async with table(
            [(("cta_click", f"b{i:02d}", "original"), (1, 1, 0)) for i in range(25)]
        ) as emulator:
            report = await fetch(emulator, transport, page_size=10)

        assert offsets(emulator) == [0, 10, 20]
        assert report.rows_read == 25
        assert total_clicks(report) == 25

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_no_data_is_zero_rows_and_a_no_data_insight(
        self, transport: str
    ) -> None:
        async with events_emulator([]) as emulator:
            report = await fetch(emulator, transport)

        assert emulator.report_requests()[0].row_count == 0
        assert (report.rows_read, report.counts, report.exposures) == (0, (), ())
        insights = generate_insights(
            compute_metrics(report),
            generated_at=datetime.datetime.now(datetime.timezone.utc),
        )
        assert insights.best_performing_button is None
        assert insights.selection_note is not None
        assert insights.selection_note.startswith("no data")
        assert [r.kind for r in insights.recommendation_details][:1] == ["no_data"]
        assert "0%" not in " ".join(insights.recommendations)

    async def test_empty_page_while_row_count_says_more_ends_with_a_warning(
        self,
    ) -> None:
        rows = [(("cta_click", f"b{i:02d}", "original"), (1, 1, 0)) for i in range(25)]
        async with table(rows, faults=[Fault(empty_page=True, offsets=10)]) as emulator:
            report = await asyncio.wait_for(fetch(emulator, page_size=10), 10)

        assert offsets(emulator) == [0, 10, 20]
        assert report.rows_read == 15
        [note] = [n for n in report.quality.notes if "empty page" in n]
        assert "row 11" in note
        assert "25 rows" in note

    async def test_an_empty_first_page_stops_at_once(self) -> None:
        rows = [(("cta_click", "cta", "original"), (1, 1, 0))] * 5
        async with table(rows, faults=[Fault(empty_page=True)]) as emulator:
            report = await fetch(emulator, page_size=2)

        assert offsets(emulator) == [0]
        assert report.rows_read == 0
        assert any("empty page" in note for note in report.quality.notes)

    def test_requests_ask_for_the_schema_events_in_a_stable_order(self) -> None:
        request = aggregate_report_request(
            ORIGINAL_LANDING_PAGE, "123", PERIOD, limit=500, offset=1_000
        )

        assert [d.name for d in request.dimensions] == LANDING
        assert [m.name for m in request.metrics] == list(LANDING_METRICS)
        assert [o.dimension.dimension_name for o in request.order_bys] == LANDING
        assert not any(o.desc for o in request.order_bys)
        in_list = request.dimension_filter.filter.in_list_filter
        assert request.dimension_filter.filter.field_name == "eventName"
        assert list(in_list.values) == list(ORIGINAL_LANDING_PAGE.event_names)
        assert request.return_property_quota
        assert (request.limit, request.offset) == (500, 1_000)
        assert [(r.start_date, r.end_date) for r in request.date_ranges] == [
            ("2024-05-01", "2024-05-07")
        ]

    def test_only_the_daily_request_has_the_date_dimension(self) -> None:
        daily = daily_report_request(ORIGINAL_LANDING_PAGE, "123", PERIOD)

        assert [d.name for d in daily.dimensions] == ["date", *LANDING]
        assert [o.dimension.dimension_name for o in daily.order_bys] == [
            "date",
            *LANDING,
        ]

    async def test_tied_rows_that_move_between_pages_are_read_once(self) -> None:
        # Every row ties on eventCount; shuffle_ties reorders ties on each call,
        # so paging without a complete orderBys would skip and repeat rows.
        events = [
            event("cta_click", f"u{i}", button_type="cta", page_variant=f"v{i:03d}")
            for i in range(60)
        ]
        async with events_emulator(events, shuffle_ties=True) as emulator:
            report = await fetch(emulator, page_size=7, max_buttons=100)

        assert len(emulator.report_requests()) == 9
        assert sorted(c.variant for c in report.counts) == [
            f"v{i:03d}" for i in range(60)
        ]
        assert total_clicks(report) == 60

    async def test_rows_not_asked_for_never_arrive(self) -> None:
        events = [
            event("cta_click", "u1", button_type="cta", page_variant="original"),
            event("scroll", "u1", page_variant="original"),
        ]
        async with events_emulator(events) as emulator:
            report = await fetch(emulator)

        assert report.rows_read == 1
        assert not any("ignored" in note for note in report.quality.notes)


class TestValues:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_whole_numbers_in_other_spellings_parse(self, transport: str) -> None:
        rows = [
            (("cta_click", "cta", "original"), ("12.0", "10", "0")),
            (("cta_click", "cta", "colors"), ("1.5e3", "9.0e2", "0")),
        ]
        async with table(rows) as emulator:
            report = await fetch(emulator, transport)

        clicks = {c.variant: (c.click_events, c.clicking_users) for c in report.counts}
        assert clicks == {"colors": (1_500, 900), "original": (12, 10)}
        assert not report.quality.notes

    async def test_a_fractional_count_is_kept_rounded_and_noted(self) -> None:
        rows = [(("cta_click", "cta", "original"), ("7.6", "5", "0"))]
        async with table(rows) as emulator:
            report = await fetch(emulator)

        [counts] = report.counts
        assert counts.click_events == 8
        assert any(
            "fractional" in note and "eventCount" in note
            for note in report.quality.notes
        )

    @pytest.mark.parametrize("transport", TRANSPORTS)
    @pytest.mark.parametrize("value", ["NaN", "abc", "inf", ""])
    async def test_a_value_that_is_not_a_number_is_a_data_error(
        self, transport: str, value: str
    ) -> None:
        rows = [
            (("cta_click", "cta", "colors"), ("3", "2", "0")),
            (("cta_click", "cta", "original"), (value, "2", "0")),
        ]
        async with table(rows) as emulator:
            with pytest.raises(ApplicationError) as raised:
                await fetch(emulator, transport)

        error = raised.value
        assert (error.type, error.non_retryable) == (DATA_ERROR, True)
        assert repr(value) in str(error)
        assert "eventCount" in str(error)
        assert "row 2" in str(error)

    async def test_a_negative_count_is_a_data_error_naming_the_row(self) -> None:
        rows = [(("cta_click", "cta", "original"), ("-4", "2", "0"))]
        async with table(rows) as emulator:
            with pytest.raises(ApplicationError, match="row 1") as raised:
                await fetch(emulator)

        assert raised.value.type == DATA_ERROR
        assert raised.value.non_retryable

    @pytest.mark.parametrize("transport", TRANSPORTS)
    @pytest.mark.parametrize(
        ("metric_type", "value"),
        [
            ("TYPE_MILLISECONDS", "1500"),
            ("TYPE_SECONDS", "1.5"),
            ("TYPE_MINUTES", "0.025"),
            ("TYPE_STANDARD", "1500"),
        ],
    )
    async def test_durations_are_converted_by_the_header_type(
        self, transport: str, metric_type: str, value: str
    ) -> None:
        rows = [(("button_hover_end", "cta", "original"), ("3", "2", value))]
        metrics = {**LANDING_METRICS, "customEvent:hover_duration": metric_type}
        async with table(rows, metrics=metrics) as emulator:
            report = await fetch(emulator, transport)

        [counts] = report.counts
        assert counts.hover_duration_total_ms == pytest.approx(1_500.0)
        assert counts.hover_duration_events == 3

    async def test_a_duration_metric_that_is_not_a_duration_is_refused(self) -> None:
        rows = [(("button_hover_end", "cta", "original"), ("3", "2", "10"))]
        metrics = {**LANDING_METRICS, "customEvent:hover_duration": "TYPE_FEET"}
        async with table(rows, metrics=metrics) as emulator:
            with pytest.raises(ApplicationError, match="TYPE_FEET") as raised:
                await fetch(emulator)

        assert raised.value.non_retryable

    @given(
        st.integers(min_value=0, max_value=10**12),
        st.sampled_from(["{}", "{}.0", "{}.000", "{:e}", "{:.6e}"]),
    )
    def test_whole_numbers_parse_to_int_whatever_the_spelling(
        self, number: int, spelling: str
    ) -> None:
        text = spelling.format(float(number) if "e" in spelling else number)
        parsed = parse_metric_value(
            text, metric="eventCount", metric_type="TYPE_INTEGER", row=1
        )

        assert isinstance(parsed, int)
        assert parsed == pytest.approx(number, rel=1e-6)

    @given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x % 1))
    def test_fractions_stay_floats(self, number: float) -> None:
        parsed = parse_metric_value(
            repr(number), metric="eventCount", metric_type="TYPE_INTEGER", row=1
        )

        assert parsed == number
        assert isinstance(parsed, float)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_placeholders_are_kept_flagged_and_never_the_best_button(
        self, transport: str
    ) -> None:
        rows: list[Row] = []
        for button, clicks in (
            ("signup", 300),
            ("", 4_000),
            ("(other)", 4_000),
            ("(data not available)", 4_000),
        ):
            for variant in ("control", "big"):
                rows.append((("button_view", button, variant), (5_000, 5_000, 0)))
                rows.append((("button_click", button, variant), (clicks, clicks, 0)))
        async with table(rows, dimensions=GENERIC) as emulator:
            report = await fetch(emulator, transport, schema=GENERIC_BUTTONS)

        buttons = {c.button for c in report.counts}
        assert buttons == {"signup", "(not set)", "(other)", "(data not available)"}
        assert report.quality.other_row
        assert report.quality.placeholder_rows == 12
        insights = generate_insights(
            compute_metrics(report),
            generated_at=datetime.datetime.now(datetime.timezone.utc),
        )
        assert insights.best_performing_button is not None
        assert insights.best_performing_button.startswith("signup")
        assert insights.worst_performing_button is None or (
            insights.worst_performing_button.startswith("signup")
        )

    async def test_an_other_row_in_every_dimension_is_counted_nowhere_but_flagged(
        self,
    ) -> None:
        events = [
            event("cta_click", f"u{i}", button_type="cta", page_variant="original")
            for i in range(5)
        ]
        events += [
            event("cta_click", "u9", button_type="cta", page_variant=f"v{i}")
            for i in range(3)
        ]
        async with events_emulator(events, max_rows_before_other=1) as emulator:
            report = await fetch(emulator)

        assert report.rows_read == 2
        assert total_clicks(report) == 5
        assert report.quality.other_row
        assert any("'(other)'" in note for note in report.quality.notes)
        assert not any("ignored events" in note for note in report.quality.notes)

    @pytest.mark.parametrize("text", ["(other)", "", "2024-05-01", "20241301", "x" * 8])
    def test_a_date_that_is_not_a_day_is_none(self, text: str) -> None:
        assert parse_ga4_date(text) is None

    def test_a_date_parses(self) -> None:
        assert parse_ga4_date("20240229") == datetime.date(2024, 2, 29)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_other_in_the_date_dimension_does_not_raise(
        self, transport: str
    ) -> None:
        rows = [
            (("20240501", "cta_click", "cta", "original"), (3, 2, 0)),
            (("(other)", "cta_click", "cta", "original"), (5, 4, 0)),
            (("20240502", "page_view", "(not set)", "original"), (9, 7, 0)),
        ]
        folder = DailyCountsFolder(ORIGINAL_LANDING_PAGE)
        async with table(rows, dimensions=["date", *LANDING]) as emulator:
            request = daily_report_request(
                ORIGINAL_LANDING_PAGE, emulator.property_id, PERIOD
            )
            if transport == "rest":
                with emulator.client("rest") as client:
                    folder.fold_pb(client.run_report(request))
            else:
                async with emulator.async_client() as client:
                    folder.fold_pb(await client.run_report(request))

        daily, notes = folder.build([("cta", "original")])
        assert [(d.date.day, d.clicking_users, d.exposed_users) for d in daily] == [
            (1, 2, 0),
            (2, 0, 7),
        ]
        assert any("days into '(other)'" in note for note in notes)


def ab_test_rows() -> list[Row]:
    """A clear winner: the CTA is clicked twice as often on ``colors``."""
    return [
        (("page_view", "(not set)", "original"), (6_000, 5_000, 0)),
        (("page_view", "(not set)", "colors"), (6_000, 5_000, 0)),
        (("cta_click", "cta", "original"), (300, 250, 0)),
        (("cta_click", "cta", "colors"), (600, 500, 0)),
    ]


class TestMetadata:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_thresholding_sampling_and_other_row_travel_into_the_insights(
        self, transport: str
    ) -> None:
        async with table(
            ab_test_rows(),
            subject_to_thresholding=True,
            sampling=[(250, 1_000)],
            data_loss_from_other_row=True,
        ) as emulator:
            report = await fetch(emulator, transport)

        quality = report.quality
        assert (quality.thresholded, quality.sampled, quality.other_row) == (
            True,
            True,
            True,
        )
        assert quality.sampling_ratio == pytest.approx(0.25)
        insights = generate_insights(
            compute_metrics(report),
            generated_at=datetime.datetime.now(datetime.timezone.utc),
        )
        caveats = " ".join(insights.caveats)
        assert "threshold" in caveats
        assert "sampled" in caveats
        assert "(other)" in caveats
        assert [c.verdict for c in insights.comparisons] != [Verdict.BETTER]
        assert all(
            c.verdict not in (Verdict.BETTER, Verdict.WORSE)
            for c in insights.comparisons
        )

    async def test_the_same_data_without_caveats_yields_a_winner(self) -> None:
        async with table(ab_test_rows()) as emulator:
            report = await fetch(emulator)

        assert not report.quality.has_caveats
        insights = generate_insights(
            compute_metrics(report),
            generated_at=datetime.datetime.now(datetime.timezone.utc),
        )
        assert [c.verdict for c in insights.comparisons] == [Verdict.BETTER]

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_time_zone_and_currency_come_from_the_property(
        self, transport: str
    ) -> None:
        events = [event("cta_click", "u1", button_type="cta", page_variant="original")]
        async with events_emulator(
            events, time_zone="Asia/Tokyo", currency_code="JPY"
        ) as emulator:
            report = await fetch(emulator, transport, time_zone="Asia/Tokyo")

        assert (report.time_zone, report.currency) == ("Asia/Tokyo", "JPY")
        assert not report.quality.notes
        assert emulator.report_requests()[0].date_ranges == (
            ("2024-05-01", "2024-05-07"),
        )

    async def test_a_request_in_another_time_zone_is_noted(self) -> None:
        events = [event("cta_click", "u1", button_type="cta", page_variant="original")]
        async with events_emulator(events, time_zone="Asia/Tokyo") as emulator:
            report = await fetch(emulator, time_zone="UTC")

        assert report.time_zone == "Asia/Tokyo"
        [note] = report.quality.notes
        assert "Asia/Tokyo" in note
        assert "UTC" in note

    async def test_the_live_source_agrees_with_the_sample_source(self) -> None:
        period = Period(PERIOD.start, PERIOD.start + datetime.timedelta(days=2))
        async with events_emulator(landing_events(days=3, visitors=30)) as emulator:
            live = await fetch(emulator, period=period, page_size=9)
        sample = await SampleDataSource(
            seed=11, visitors_per_variant_per_day=30
        ).fetch_report(FetchRequest(property_id="1", period=period), FetchContext())

        assert live.counts == sample.counts
        assert live.exposures == sample.exposures


class TestUsers:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_users_come_from_the_whole_period_not_summed_days(
        self, transport: str
    ) -> None:
        days = [PERIOD.start + datetime.timedelta(days=n) for n in range(3)]
        visitors = [range(1, 11), range(5, 17), range(12, 21)]  # 10, 12, 9 users
        events = [
            event("page_view", f"u{user}", day, page_variant="original")
            for day, users in zip(days, visitors, strict=True)
            for user in users
        ]
        events.append(
            event(
                "cta_click", "u1", days[0], button_type="cta", page_variant="original"
            )
        )
        async with events_emulator(events) as emulator:
            report = await fetch(emulator, transport, daily=True)

        [exposure] = report.exposures
        assert exposure.users == 20
        assert exposure.events == 31
        [cta] = report.counts
        assert cta.exposed_users == 20
        daily = [(row.date, row.exposed_users) for row in report.daily]
        assert daily == list(zip(days, [10, 12, 9], strict=True))
        aggregate, daily_request = sorted(
            emulator.report_requests(), key=lambda r: "date" in r.dimensions
        )
        assert "date" not in aggregate.dimensions
        assert "date" in daily_request.dimensions

    async def test_previous_period_counts_come_from_their_own_request(self) -> None:
        before = PERIOD.start - datetime.timedelta(days=3)
        events = [
            event("cta_click", "u1", before, button_type="cta", page_variant="a"),
            event("cta_click", "u2", before, button_type="cta", page_variant="a"),
            event("cta_click", "u3", PERIOD.start, button_type="cta", page_variant="a"),
        ]
        async with events_emulator(events) as emulator:
            report = await fetch(emulator, previous_period=True)

        assert report.previous_period == Period(
            datetime.date(2024, 4, 24), datetime.date(2024, 4, 30)
        )
        assert [(c.button, c.clicking_users) for c in report.previous_counts] == [
            ("cta", 2)
        ]
        assert total_clicks(report) == 1


class TestResume:
    ROWS: list[Row] = [  # noqa: RUF012 - read-only test data
        (("cta_click", f"b{i:02d}", "original"), (i + 1, 1, 0)) for i in range(25)
    ]

    async def _fail_then_resume(
        self, emulator: GA4Emulator, **options: Any
    ) -> tuple[ButtonReport, list[int], list[int]]:
        states: list[object] = []
        first = FetchContext(heartbeat=lambda *details: states.extend(details))
        with pytest.raises(ApplicationError) as raised:
            await fetch(emulator, context=first, page_size=10, **options)
        assert (raised.value.type, raised.value.non_retryable) == (SERVER_ERROR, False)
        first_offsets = offsets(emulator)
        emulator.reset_requests()

        # Temporal hands the last heartbeat back as decoded JSON.
        converter = make_cattrs_converter()
        saved = json.loads(json.dumps(converter.unstructure(states[-1])))
        report = await fetch(
            emulator,
            context=FetchContext(previous_state=saved),
            page_size=10,
            **options,
        )
        return report, first_offsets, offsets(emulator)

    async def test_a_retry_resumes_after_the_last_completed_page(self) -> None:
        fault = Fault(status="UNAVAILABLE", offsets=20, times=1)
        async with table(self.ROWS, faults=[fault]) as emulator:
            report, first, second = await self._fail_then_resume(
                emulator, max_concurrent_requests=1
            )

        assert first == [0, 10, 20]
        assert second == [20]
        assert report.rows_read == 25
        assert report.pages_fetched == 3
        assert total_clicks(report) == sum(range(1, 26))

    async def test_concurrent_pages_are_counted_once_after_a_retry(self) -> None:
        rows = self.ROWS * 4
        fault = Fault(status="INTERNAL", offsets=50, times=1, latency_s=0.05)
        async with table(rows, faults=[fault]) as emulator:
            report, first, second = await self._fail_then_resume(emulator)

        assert 0 in first
        assert 0 not in second
        assert report.rows_read == 100
        assert total_clicks(report) == 4 * sum(range(1, 26))

    async def test_a_checkpoint_of_another_fetch_is_ignored(self) -> None:
        other = GA4FetchState(
            property_id="999",
            period=PERIOD,
            schema_name=ORIGINAL_LANDING_PAGE.name,
            report=attrs.evolve(_empty_checkpoint(), rows_read=1_000, pages_fetched=10),
            cursor=attrs.evolve(_empty_cursor(), row_count=25, pages=((0, 25),)),
        )
        async with table(self.ROWS) as emulator:
            report = await fetch(
                emulator, context=FetchContext(previous_state=other), page_size=10
            )

        assert report.rows_read == 25
        assert offsets(emulator) == [0, 10, 20]


def _empty_checkpoint() -> Any:
    from ga4_button_workflows.aggregate import ReportCheckpoint

    return ReportCheckpoint()


def _empty_cursor() -> Any:
    from ga4_button_workflows.sources.ga4 import PageCursor

    return PageCursor()


class TestConcurrencyAndQuota:
    ROWS: list[Row] = [  # noqa: RUF012 - read-only test data
        (("cta_click", f"b{i:03d}", "original"), (1, 1, 0)) for i in range(200)
    ]

    async def test_pages_fan_out_under_the_limit(self) -> None:
        async with table(self.ROWS, faults=[Fault(latency_s=0.05)]) as emulator:
            report = await fetch(emulator, page_size=10, max_concurrent_requests=3)

        assert emulator.max_concurrent_requests == 3
        assert len(emulator.report_requests()) == 20
        assert report.rows_read == 200

    async def test_two_fetches_of_one_property_share_the_limit(self) -> None:
        async with table(self.ROWS, faults=[Fault(latency_s=0.05)]) as emulator:
            built: list[object] = []

            def factory() -> Any:
                built.append(emulator.async_client())
                return built[-1]

            source = GA4DataSource(
                client_factory=factory, page_size=10, max_concurrent_requests=2
            )
            request = FetchRequest(property_id=emulator.property_id, period=PERIOD)
            try:
                reports = await asyncio.gather(
                    source.fetch_report(request, FetchContext()),
                    source.fetch_report(request, FetchContext()),
                )
            finally:
                await source.aclose()

        assert emulator.max_concurrent_requests == 2
        assert [r.rows_read for r in reports] == [200, 200]
        assert len(built) == 1

    @pytest.mark.parametrize("limit", [0, 11, 50])
    def test_a_limit_outside_one_to_ten_is_refused(self, limit: int) -> None:
        with pytest.raises(ValueError, match="max_concurrent_requests"):
            GA4DataSource(max_concurrent_requests=limit)

    def test_a_page_size_beyond_250000_is_refused(self) -> None:
        with pytest.raises(ValueError, match="250,000"):
            GA4DataSource(page_size=250_001)

    async def test_quota_tokens_are_logged_and_low_tokens_slow_the_fetch(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger="ga4_button_workflows.sources.ga4")
        quota = QuotaLimits(tokens_per_project_per_hour=1_000)
        async with table(
            self.ROWS[:60], quota=quota, faults=[Fault(latency_s=0.02)]
        ) as emulator:
            started = time.perf_counter()
            report = await fetch(
                emulator, page_size=10, quota_reserve_tokens=1_000, quota_pause_s=0.1
            )
            elapsed = time.perf_counter() - started

        assert report.rows_read == 60
        messages = [record.getMessage() for record in caplog.records]
        assert any(
            "999 this hour for the project" in m and "199,999 today" in m
            for m in messages
        )
        [warning] = [m for m in messages if "slowing down" in m]
        assert "999 quota tokens left" in warning
        # Low after the first page: the other five ran one at a time, paused.
        assert emulator.max_concurrent_requests == 1
        assert elapsed >= 0.5

    async def test_plenty_of_tokens_do_not_slow_the_fetch(self) -> None:
        async with table(self.ROWS[:60], faults=[Fault(latency_s=0.05)]) as emulator:
            await fetch(emulator, page_size=10, quota_pause_s=5.0)

        assert emulator.max_concurrent_requests == 4


class TestTransportsAndCredentials:
    async def test_the_rest_transport_is_built_from_client_kwargs(self) -> None:
        events = [event("cta_click", "u1", button_type="cta", page_variant="original")]
        async with events_emulator(events) as emulator:
            source = GA4DataSource(
                transport="rest", client_kwargs=emulator.client_kwargs("rest")
            )
            report = await source.fetch_report(
                FetchRequest(property_id=emulator.property_id, period=PERIOD),
                FetchContext(),
            )
            await source.aclose()

        assert total_clicks(report) == 1
        assert {r.transport for r in emulator.report_requests()} == {"rest"}

    async def test_credentials_and_client_options_build_the_client(self) -> None:
        events = [event("cta_click", "u1", button_type="cta", page_variant="original")]
        async with events_emulator(events) as emulator:
            source = GA4DataSource(
                transport="rest",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": emulator.rest_endpoint},
            )
            async with source:
                report = await source.fetch_report(
                    FetchRequest(property_id=emulator.property_id, period=PERIOD),
                    FetchContext(),
                )

        assert total_clicks(report) == 1

    async def test_the_grpc_transport_never_blocks_the_loop_on_a_big_page(
        self,
    ) -> None:
        def row(index: int) -> Row:
            return (("cta_click", f"b{index % 50}", f"v{index % 5}"), (1, 1, 0))

        lags: list[float] = []

        async def watch() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        async with table(row, row_count=100_000) as emulator:
            watcher = asyncio.create_task(watch())
            report = await fetch(emulator, page_size=100_000)
            watcher.cancel()

        assert report.rows_read == 100_000
        # Folding 100,000 rows takes most of a second; in a worker thread the
        # loop keeps turning (only the gRPC client's decoding runs on it). Folded
        # on the loop, this lag measures about a second.
        assert max(lags) < 0.4

    def test_credentials_and_a_key_file_together_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not both"):
            GA4DataSource(credentials=object(), credentials_file="key.json")  # type: ignore[arg-type]

    async def test_a_missing_key_file_is_a_non_retryable_error(self) -> None:
        source = GA4DataSource(credentials_file="/nonexistent/key.json")
        with pytest.raises(ApplicationError, match=r"/nonexistent/key\.json") as raised:
            await source.fetch_report(
                FetchRequest(property_id="123", period=PERIOD), FetchContext()
            )

        assert raised.value.non_retryable
        assert raised.value.type == "GA4CredentialsError"

    async def test_missing_application_default_credentials_say_how_to_set_them(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
    ) -> None:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no.json"))
        source = GA4DataSource()
        with pytest.raises(ApplicationError, match="gcloud auth") as raised:
            await source.fetch_report(
                FetchRequest(property_id="123", period=PERIOD), FetchContext()
            )

        assert raised.value.non_retryable


class TestWorkflow:
    async def test_the_workflow_runs_on_ga4_data_and_resumes_after_a_503(
        self, dev_env: WorkflowEnvironment, task_queue: str
    ) -> None:
        period = Period(PERIOD.start, PERIOD.start + datetime.timedelta(days=2))
        async with events_emulator(
            landing_events(days=3, visitors=150),
            faults=[Fault(status="UNAVAILABLE", offsets=50, times=1)],
        ) as emulator:
            source = ga4_source(
                emulator, page_size=25, max_concurrent_requests=1, daily=True
            )
            plugin = ButtonAnalyticsPlugin(source=source, store=MemoryInsightStore())
            async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
                outcome = await dev_env.client.execute_workflow(
                    ButtonAnalyticsWorkflow.run,
                    AnalysisRequest(
                        property_id=emulator.property_id,
                        start_date=period.start,
                        end_date=period.end,
                        time_zone="America/Los_Angeles",
                    ),
                    id=f"wf-ga4-{uuid.uuid4().hex}",
                    task_queue=task_queue,
                )
            await source.aclose()
        aggregate = [
            r for r in emulator.report_requests() if "date" not in r.dimensions
        ]

        sample = await SampleDataSource(
            seed=11, visitors_per_variant_per_day=150
        ).fetch_report(FetchRequest(property_id="1", period=period), FetchContext())
        assert outcome.rows_read == sample.rows_read
        assert outcome.insights.best_performing_button is not None
        statuses = [(r.offset, r.status) for r in aggregate]
        assert statuses.count((50, "UNAVAILABLE")) == 1
        # The retried attempt resumed from its heartbeat: pages 0 and 25 once.
        assert [offset for offset, _ in statuses].count(0) == 1
        assert [offset for offset, _ in statuses].count(25) == 1

    async def test_permission_denied_fails_the_workflow_fast_with_the_reason(
        self, dev_env: WorkflowEnvironment, task_queue: str
    ) -> None:
        async with events_emulator([]) as emulator:
            source = ga4_source(emulator)
            plugin = ButtonAnalyticsPlugin(source=source)
            started = time.perf_counter()
            async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
                with pytest.raises(WorkflowFailureError) as raised:
                    await dev_env.client.execute_workflow(
                        ButtonAnalyticsWorkflow.run,
                        AnalysisRequest(property_id="987654321", days_back=7),
                        id=f"wf-ga4-{uuid.uuid4().hex}",
                        task_queue=task_queue,
                    )
            elapsed = time.perf_counter() - started
            await source.aclose()

        cause = raised.value.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause  # type: ignore[union-attr]
        assert isinstance(cause, ApplicationError)
        assert cause.type == "GA4PermissionDenied"
        assert "987654321" in str(cause)
        assert "Property access management" in str(cause)
        assert len(emulator.report_requests()) == 1
        assert elapsed < 10
