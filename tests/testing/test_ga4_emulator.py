"""The GA4 emulator, driven by the real google-analytics-data client."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    FilterExpressionList,
    GetMetadataRequest,
    Metric,
    MetricAggregation,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions

from ga4_button_workflows.testing import (
    EmulatedEvent,
    Fault,
    GA4Emulator,
    QuotaLimits,
    ReportTable,
)

TODAY = datetime.date(2024, 5, 10)
YESTERDAY = TODAY - datetime.timedelta(days=1)
TRANSPORTS = ["grpc", "rest"]


def event(
    name: str, user: str, day: datetime.date = YESTERDAY, **params: Any
) -> EmulatedEvent:
    return EmulatedEvent(date=day, user_id=user, event_name=name, params=params)


def report_request(
    emulator: GA4Emulator,
    dimensions: list[str],
    metrics: list[str],
    *,
    start: str = "7daysAgo",
    end: str = "yesterday",
    **fields: Any,
) -> RunReportRequest:
    return RunReportRequest(
        property=emulator.property_name,
        date_ranges=[DateRange(start_date=start, end_date=end)],
        dimensions=[Dimension(name=name) for name in dimensions],
        metrics=[Metric(name=name) for name in metrics],
        **fields,
    )


def table(response: RunReportResponse) -> list[tuple[list[str], list[str]]]:
    raw = RunReportResponse.pb(response)
    return [
        ([v.value for v in row.dimension_values], [v.value for v in row.metric_values])
        for row in raw.rows
    ]


@pytest.fixture
def button_events() -> list[EmulatedEvent]:
    """Two variants of one CTA: 3 users see 'original', 2 see 'colors'."""
    return [
        event("page_view", "u1", page_variant="original"),
        event("page_view", "u2", page_variant="original"),
        event("page_view", "u3", page_variant="original"),
        event("page_view", "u4", page_variant="colors"),
        event("page_view", "u5", page_variant="colors"),
        event(
            "cta_click",
            "u1",
            page_variant="original",
            button_type="cta",
            hover_duration=1200,
        ),
        event(
            "cta_click",
            "u1",
            page_variant="original",
            button_type="cta",
            hover_duration=800,
        ),
        event(
            "cta_click",
            "u4",
            page_variant="colors",
            button_type="cta",
            hover_duration=500,
        ),
        event("nav_hover_end", "u2", page_variant="original", hover_duration=300),
        event(
            "cta_click",
            "u9",
            day=TODAY - datetime.timedelta(days=30),
            page_variant="original",
            button_type="cta",
        ),
    ]


@pytest.fixture
def emulator(button_events: list[EmulatedEvent]) -> Iterator[GA4Emulator]:
    with GA4Emulator(
        button_events,
        custom_dimensions=["button_type", "page_variant"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=TODAY,
    ) as running:
        yield running


@pytest.fixture(params=TRANSPORTS)
def client(
    request: pytest.FixtureRequest, emulator: GA4Emulator
) -> Iterator[BetaAnalyticsDataClient]:
    with emulator.client(transport=request.param) as data_client:
        yield data_client


def fetch_all(
    data_client: BetaAnalyticsDataClient, request: RunReportRequest, page_size: int
) -> list[tuple[str, ...]]:
    """Pages by offset until rowCount is reached, as a careful client does."""
    rows: list[tuple[str, ...]] = []
    request.limit = page_size
    while True:
        request.offset = len(rows)
        raw = RunReportResponse.pb(data_client.run_report(request))
        rows.extend(tuple(v.value for v in row.dimension_values) for row in raw.rows)
        if not raw.rows or len(rows) >= raw.row_count:
            return rows


class TestReports:
    def test_groups_events_by_dimensions_and_counts_distinct_users(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """eventCount adds events; user metrics count distinct users per row."""
        request = report_request(
            emulator,
            ["eventName", "customEvent:page_variant"],
            ["eventCount", "totalUsers", "activeUsers", "eventCountPerUser"],
            order_bys=[
                OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="eventName")),
                OrderBy(
                    dimension=OrderBy.DimensionOrderBy(
                        dimension_name="customEvent:page_variant"
                    )
                ),
            ],
        )

        response = client.run_report(request)

        assert table(response) == [
            (["cta_click", "colors"], ["1", "1", "1", "1"]),
            (["cta_click", "original"], ["2", "1", "1", "2"]),
            (["nav_hover_end", "original"], ["1", "1", "1", "1"]),
            (["page_view", "colors"], ["2", "2", "2", "1"]),
            (["page_view", "original"], ["3", "3", "3", "1"]),
        ]
        assert response.row_count == 5
        assert [h.name for h in response.dimension_headers] == [
            "eventName",
            "customEvent:page_variant",
        ]
        assert [h.type_.name for h in response.metric_headers] == [
            "TYPE_INTEGER",
            "TYPE_INTEGER",
            "TYPE_INTEGER",
            "TYPE_FLOAT",
        ]

    def test_missing_parameter_reads_not_set(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """Events without the custom parameter fall in the '(not set)' row."""
        request = report_request(emulator, ["customEvent:button_type"], ["eventCount"])

        rows = table(client.run_report(request))

        assert rows == [(["(not set)"], ["6"]), (["cta"], ["3"])]

    def test_custom_metric_sums_with_its_registered_type(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """A custom metric is the sum of the parameter; the header carries its unit."""
        request = report_request(
            emulator, ["eventName"], ["customEvent:hover_duration"]
        )

        response = client.run_report(request)

        assert table(response)[0] == (["cta_click"], ["2500"])
        assert response.metric_headers[0].type_.name == "TYPE_MILLISECONDS"

    def test_seconds_metric_type_is_reported(self, button_events: list[Any]) -> None:
        """A metric registered as TYPE_SECONDS says so, so clients convert by type."""
        with (
            GA4Emulator(
                button_events,
                custom_metrics={"hover_duration": "TYPE_SECONDS"},
                today=TODAY,
            ) as emulator,
            emulator.client() as data_client,
        ):
            request = report_request(emulator, [], ["customEvent:hover_duration"])
            response = data_client.run_report(request)

        assert response.metric_headers[0].type_.name == "TYPE_SECONDS"
        assert table(response) == [([], ["2800"])]

    def test_users_are_not_summed_across_days(self) -> None:
        """Daily users 2 + 2 differ from the 3 users of the whole range."""
        days = [YESTERDAY, YESTERDAY - datetime.timedelta(days=1)]
        events = [event("cta_click", "a", days[0]), event("cta_click", "b", days[0])]
        events += [event("cta_click", "b", days[1]), event("cta_click", "c", days[1])]
        with GA4Emulator(events, today=TODAY) as emulator, emulator.client() as data:
            daily = data.run_report(
                report_request(
                    emulator,
                    ["date"],
                    ["totalUsers"],
                    metric_aggregations=[MetricAggregation.TOTAL],
                )
            )
            whole = data.run_report(report_request(emulator, [], ["totalUsers"]))

        assert sorted(table(daily)) == [(["20240508"], ["2"]), (["20240509"], ["2"])]
        assert daily.totals[0].metric_values[0].value == "3"
        assert table(whole) == [([], ["3"])]

    def test_relative_dates_are_the_property_days(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """'yesterday' and '7daysAgo' resolve against the property's today."""
        request = report_request(
            emulator, ["date"], ["eventCount"], start="yesterday", end="yesterday"
        )
        response = client.run_report(request)

        assert table(response) == [(["20240509"], ["9"])]
        assert response.metadata.time_zone == "America/Los_Angeles"

    def test_dimension_filter_in_list_on_event_name(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """inListFilter keeps only the listed events."""
        in_list = Filter(
            field_name="eventName",
            in_list_filter=Filter.InListFilter(values=["cta_click", "nav_hover_end"]),
        )
        request = report_request(
            emulator,
            ["eventName"],
            ["eventCount"],
            dimension_filter=FilterExpression(filter=in_list),
        )

        rows = table(client.run_report(request))

        assert rows == [(["cta_click"], ["3"]), (["nav_hover_end"], ["1"])]

    def test_filter_groups_and_string_match_types(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """andGroup, notExpression and a case-insensitive BEGINS_WITH combine."""
        begins = Filter(
            field_name="eventName",
            string_filter=Filter.StringFilter(
                match_type=Filter.StringFilter.MatchType.BEGINS_WITH, value="CTA_"
            ),
        )
        colors = Filter(
            field_name="customEvent:page_variant",
            string_filter=Filter.StringFilter(value="colors"),
        )
        expression = FilterExpression(
            and_group=FilterExpressionList(
                expressions=[
                    FilterExpression(filter=begins),
                    FilterExpression(not_expression=FilterExpression(filter=colors)),
                ]
            )
        )
        request = report_request(
            emulator,
            ["customEvent:page_variant"],
            ["eventCount"],
            dimension_filter=expression,
        )

        assert table(client.run_report(request)) == [(["original"], ["2"])]

    def test_standard_dimensions_read_their_event_parameters(self) -> None:
        """linkUrl, pagePath and the promotion dimensions come from GA4's params."""
        events = [
            event("click", "u1", link_url="https://example.com/out"),
            event("page_view", "u1", page_location="https://shop.test/a/b?q=1"),
            event("view_promotion", "u2", promotion_name="spring", creative_name="red"),
            event(
                "select_promotion", "u2", promotion_name="spring", creative_name="red"
            ),
        ]
        with GA4Emulator(events, today=TODAY) as emulator, emulator.client() as data:
            links = data.run_report(
                report_request(emulator, ["linkUrl"], ["eventCount"])
            )
            paths = data.run_report(
                report_request(emulator, ["pagePath"], ["eventCount"])
            )
            promotions = data.run_report(
                report_request(
                    emulator,
                    ["itemPromotionName", "itemPromotionCreativeName"],
                    ["itemsViewedInPromotion", "itemsClickedInPromotion"],
                )
            )

        assert (["https://example.com/out"], ["1"]) in table(links)
        assert (["/a/b"], ["1"]) in table(paths)
        assert (["spring", "red"], ["1", "1"]) in table(promotions)

    def test_several_date_ranges_add_the_date_range_dimension(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """GA4 labels rows by range name when a request has more than one range."""
        request = report_request(emulator, [], ["eventCount"])
        request.date_ranges.append(
            DateRange(start_date="60daysAgo", end_date="8daysAgo", name="before")
        )

        response = client.run_report(request)

        assert [h.name for h in response.dimension_headers] == ["dateRange"]
        assert table(response) == [(["date_range_0"], ["9"]), (["before"], ["1"])]

    def test_other_row_folds_the_tail_and_flags_data_loss(self) -> None:
        """Past max_rows_before_other, every dimension of the rest reads '(other)'."""
        events = [
            event("cta_click", f"u{i}-{n}", button_id=f"b{i}")
            for i in range(5)
            for n in range(5 - i)
        ]
        with (
            GA4Emulator(
                events,
                custom_dimensions=["button_id"],
                max_rows_before_other=2,
                today=TODAY,
            ) as emulator,
            emulator.client("rest") as data_client,
        ):
            request = report_request(
                emulator, ["customEvent:button_id", "date"], ["eventCount"]
            )
            response = data_client.run_report(request)

        assert table(response) == [
            (["(other)", "(other)"], ["6"]),
            (["b0", "20240509"], ["5"]),
            (["b1", "20240509"], ["4"]),
        ]
        assert response.metadata.data_loss_from_other_row is True


class TestPagination:
    @pytest.mark.parametrize(
        ("transport", "total", "page_size"),
        [("grpc", 250_001, 100_000), ("rest", 2_501, 1_000)],
    )
    def test_row_count_past_two_pages_takes_exactly_three_requests(
        self, transport: str, total: int, page_size: int
    ) -> None:
        """No page token: three offsets cover rowCount = 2 pages + 1, each row once."""
        with GA4Emulator.from_rows(
            ["customEvent:button_id", "eventName"],
            ["eventCount", "totalUsers"],
            lambda i: ((f"button-{i:07d}", "cta_click"), (i % 97 + 1, 1)),
            row_count=total,
        ) as emulator:
            request = report_request(
                emulator, ["customEvent:button_id", "eventName"], ["eventCount"]
            )
            with emulator.client(transport) as data_client:  # type: ignore[arg-type]
                rows = fetch_all(data_client, request, page_size)

            offsets = [record.offset for record in emulator.report_requests()]

        assert len(rows) == total
        assert len(set(rows)) == total
        assert offsets == [0, page_size, 2 * page_size]

    def test_limit_defaults_to_ten_thousand_and_caps_at_250_thousand(self) -> None:
        """GA4 returns 10,000 rows without a limit and never more than 250,000."""
        with (
            GA4Emulator.from_rows(
                ["eventName"],
                ["eventCount"],
                lambda i: ((f"e{i}",), (1,)),
                row_count=300_000,
            ) as emulator,
            emulator.client() as data_client,
        ):
            request = report_request(emulator, ["eventName"], ["eventCount"])
            default_page = RunReportResponse.pb(data_client.run_report(request))
            request.limit = 1_000_000
            capped_page = RunReportResponse.pb(data_client.run_report(request))

        assert len(default_page.rows) == 10_000
        assert len(capped_page.rows) == 250_000
        assert capped_page.row_count == 300_000

    def test_no_data_omits_rows_and_row_count(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """A range without events answers no rows and rowCount 0."""
        request = report_request(
            emulator,
            ["eventName"],
            ["eventCount"],
            start="2020-01-01",
            end="2020-01-31",
        )

        response = client.run_report(request)

        assert list(response.rows) == []
        assert response.row_count == 0
        assert response.metadata.currency_code == "USD"

    def test_empty_page_fault_keeps_row_count(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """An empty_page fault answers no rows while rowCount still says more."""
        emulator.inject(Fault(empty_page=True, offsets=2))
        request = report_request(emulator, ["eventName"], ["eventCount"], offset=2)

        response = client.run_report(request)

        assert list(response.rows) == []
        assert response.row_count == 3

    def test_order_bys_over_all_dimensions_keep_pages_disjoint(self) -> None:
        """With unstable ties, only a complete orderBys pages every row exactly once."""
        events = [event("cta_click", f"u{i}", button_id=f"b{i:02d}") for i in range(40)]
        with (
            GA4Emulator(
                events, custom_dimensions=["button_id"], shuffle_ties=True, today=TODAY
            ) as emulator,
            emulator.client() as data_client,
        ):
            unordered = report_request(
                emulator, ["customEvent:button_id"], ["eventCount"]
            )
            unstable = fetch_all(data_client, unordered, page_size=10)
            ordered = report_request(
                emulator,
                ["customEvent:button_id"],
                ["eventCount"],
                order_bys=[
                    OrderBy(
                        metric=OrderBy.MetricOrderBy(metric_name="eventCount"),
                        desc=True,
                    ),
                    OrderBy(
                        dimension=OrderBy.DimensionOrderBy(
                            dimension_name="customEvent:button_id"
                        )
                    ),
                ],
            )
            stable = fetch_all(data_client, ordered, page_size=10)

        assert len(set(unstable)) < 40
        assert stable == sorted({(f"b{i:02d}",) for i in range(40)})


class TestWireFormat:
    def test_values_are_strings_and_int64_counts_are_json_strings(self) -> None:
        """REST JSON: string values verbatim, rowCount as a string, no page token."""
        rows = [(("cta",), ("12.0", 3)), (("nav",), ("1.5e3", 1))]
        with GA4Emulator.from_rows(
            ["customEvent:button_type"], ["eventCount", "totalUsers"], rows
        ) as emulator:
            body = post_json(
                f"{emulator.rest_endpoint}/v1beta/{emulator.property_name}:runReport",
                {
                    "dateRanges": [{"startDate": "yesterday", "endDate": "today"}],
                    "dimensions": [{"name": "customEvent:button_type"}],
                    "metrics": [{"name": "eventCount"}, {"name": "totalUsers"}],
                    "orderBys": [
                        {"dimension": {"dimensionName": "customEvent:button_type"}}
                    ],
                },
            )

        assert body["rows"][0]["metricValues"] == [{"value": "12.0"}, {"value": "3"}]
        assert body["rows"][1]["metricValues"][0] == {"value": "1.5e3"}
        assert body["rowCount"] == "2"
        assert body["metricHeaders"][0] == {
            "name": "eventCount",
            "type": "TYPE_INTEGER",
        }
        assert not {"offset", "nextPageToken", "pageToken"} & set(body)

    def test_empty_report_json_has_neither_rows_nor_row_count(
        self, emulator: GA4Emulator
    ) -> None:
        """GA4 leaves both keys out when nothing matched."""
        body = post_json(
            f"{emulator.rest_endpoint}/v1beta/{emulator.property_name}:runReport",
            {
                "dateRanges": [{"startDate": "2020-01-01", "endDate": "2020-01-02"}],
                "metrics": [{"name": "eventCount"}],
            },
        )

        assert "rows" not in body
        assert "rowCount" not in body
        assert body["metadata"]["timeZone"] == "America/Los_Angeles"

    def test_metadata_flags_are_reported(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """Thresholding, sampling and currency travel in metadata on both transports."""
        emulator.subject_to_thresholding = True
        emulator.sampling = ((500, 2_000),)
        emulator.currency_code = "EUR"

        response = client.run_report(report_request(emulator, [], ["eventCount"]))

        assert response.metadata.subject_to_thresholding is True
        sampling = response.metadata.sampling_metadatas[0]
        assert (sampling.samples_read_count, sampling.sampling_space_size) == (
            500,
            2000,
        )
        assert response.metadata.currency_code == "EUR"

    def test_property_quota_is_reported_and_decremented(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """returnPropertyQuota reports GA4's buckets, each request costing tokens."""
        request = report_request(
            emulator, ["eventName"], ["eventCount"], return_property_quota=True
        )

        first = client.run_report(request).property_quota
        second = client.run_report(request).property_quota
        without = client.run_report(report_request(emulator, [], ["eventCount"]))

        assert first.tokens_per_hour.consumed == 1
        assert first.tokens_per_hour.remaining == 40_000 - 1
        assert second.tokens_per_hour.remaining == 40_000 - 2
        assert second.tokens_per_day.remaining == 200_000 - 2
        assert second.tokens_per_project_per_hour.remaining == 14_000 - 2
        assert second.concurrent_requests.remaining == 10
        assert "property_quota" not in without


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "grpc_error", "rest_error"),
        [
            (
                "RESOURCE_EXHAUSTED",
                exceptions.ResourceExhausted,
                exceptions.TooManyRequests,
            ),
            ("PERMISSION_DENIED", exceptions.PermissionDenied, exceptions.Forbidden),
            ("INVALID_ARGUMENT", exceptions.InvalidArgument, exceptions.BadRequest),
            (
                "UNAVAILABLE",
                exceptions.ServiceUnavailable,
                exceptions.ServiceUnavailable,
            ),
            (
                "INTERNAL",
                exceptions.InternalServerError,
                exceptions.InternalServerError,
            ),
            (
                "DEADLINE_EXCEEDED",
                exceptions.DeadlineExceeded,
                exceptions.GatewayTimeout,
            ),
        ],
    )
    @pytest.mark.parametrize("transport", TRANSPORTS)
    def test_fault_raises_the_transport_exception(
        self,
        emulator: GA4Emulator,
        transport: str,
        status: Any,
        grpc_error: type[Exception],
        rest_error: type[Exception],
    ) -> None:
        """Each status maps to gRPC's exception, or via HTTP status to REST's."""
        emulator.inject(Fault(status=status, message=f"boom {status}", calls=1))
        expected = grpc_error if transport == "grpc" else rest_error
        request = report_request(emulator, [], ["eventCount"])

        with emulator.client(transport) as data_client:  # type: ignore[arg-type]
            with pytest.raises(exceptions.GoogleAPICallError) as raised:
                data_client.run_report(request)
            retried = data_client.run_report(request)

        assert type(raised.value) is expected
        assert f"boom {status}" in str(raised.value)
        assert retried.rows[0].metric_values[0].value == "9"
        assert [r.status for r in emulator.requests] == [status, "OK"]

    def test_quota_fault_carries_ga4_message(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """Quota faults use GA4's wording, which clients read to pick a delay."""
        emulator.inject(Fault.quota_exhausted("tokens_per_hour", calls=1))

        with pytest.raises(exceptions.TooManyRequests) as raised:
            client.run_report(report_request(emulator, [], ["eventCount"]))

        assert "Exhausted property tokens per hour." in str(raised.value)

    def test_fault_at_an_offset_fires_once(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """times=1 fails one page once; the retry of that page succeeds."""
        emulator.inject(Fault(status="UNAVAILABLE", offsets=1, times=1))
        request = report_request(emulator, ["eventName"], ["eventCount"], limit=1)

        client.run_report(request)
        request.offset = 1
        with pytest.raises(exceptions.ServiceUnavailable):
            client.run_report(request)
        retried = client.run_report(request)

        assert table(retried) == [(["cta_click"], ["3"])]

    def test_fault_over_a_range_of_calls(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """calls=range(2, 4) fails the second and third calls only."""
        emulator.inject(Fault(status="INTERNAL", calls=range(2, 4)))
        request = report_request(emulator, [], ["eventCount"])

        def outcome() -> str:
            try:
                client.run_report(request)
            except exceptions.InternalServerError:
                return "INTERNAL"
            return "OK"

        outcomes = [outcome() for _ in range(4)]

        assert outcomes == ["OK", "INTERNAL", "INTERNAL", "OK"]

    def test_rest_unknown_path_answers_a_google_error_body(
        self, emulator: GA4Emulator
    ) -> None:
        """Paths outside the Data API answer 404 in Google's JSON error shape."""
        url = f"{emulator.rest_endpoint}/v1beta/{emulator.property_name}:runPivotReport"

        with pytest.raises(urllib.error.HTTPError) as raised:
            post_json(url, {})

        with raised.value as error_response:
            body = json.loads(error_response.read())
        assert raised.value.code == 404
        assert body["error"] == {
            "code": 404,
            "message": "The GA4 emulator does not serve POST "
            "/v1beta/properties/123456789:runPivotReport.",
            "status": "NOT_FOUND",
        }

    def test_unknown_property_is_permission_denied(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """A property the credentials cannot read answers GA4's 403."""
        request = report_request(emulator, [], ["eventCount"])
        request.property = "properties/999"

        with pytest.raises(exceptions.Forbidden) as raised:
            client.run_report(request)

        assert "User does not have sufficient permissions for this property" in str(
            raised.value
        )

    def test_measurement_id_is_invalid_argument(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """A G- measurement ID is not a property ID."""
        request = report_request(emulator, [], ["eventCount"])
        request.property = "properties/G-JHSVNWL6QH"

        with pytest.raises(exceptions.BadRequest) as raised:
            client.run_report(request)

        assert "numeric property ID" in str(raised.value)

    def test_unregistered_custom_dimension_is_invalid_argument(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """GA4's message names the field and links the API schema."""
        request = report_request(emulator, ["customEvent:nav_item"], ["eventCount"])

        with pytest.raises(exceptions.BadRequest) as raised:
            client.run_report(request)

        assert (
            "Field customEvent:nav_item is not a valid dimension. For a list of valid "
            "dimensions and metrics, see "
            "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
        ) in str(raised.value)

    def test_token_quota_runs_dry(self, button_events: list[Any]) -> None:
        """With enforce_quota, a request past the hourly tokens answers 429."""
        with (
            GA4Emulator(
                button_events,
                quota=QuotaLimits(tokens_per_hour=25),
                tokens_per_request=10,
                today=TODAY,
            ) as emulator,
            emulator.client() as data_client,
        ):
            request = report_request(emulator, [], ["eventCount"])
            data_client.run_report(request)
            data_client.run_report(request)
            with pytest.raises(exceptions.ResourceExhausted) as raised:
                data_client.run_report(request)
            emulator.reset_quota()
            data_client.run_report(request)

        assert "Exhausted property tokens per hour." in str(raised.value)


class TestBatchAndMetadata:
    def test_batch_run_reports_answers_each_report(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """batchRunReports answers up to five reports and logs each."""
        batch = BatchRunReportsRequest(
            property=emulator.property_name,
            requests=[
                report_request(emulator, [], ["eventCount"]),
                report_request(emulator, [], ["totalUsers"]),
            ],
        )

        response = client.batch_run_reports(batch)

        assert [table(report) for report in response.reports] == [
            [([], ["9"])],
            [([], ["5"])],
        ]
        assert [r.method for r in emulator.requests] == ["batchRunReports"] * 2

    def test_batch_of_six_is_invalid(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """GA4 refuses batches of more than five reports."""
        batch = BatchRunReportsRequest(
            property=emulator.property_name,
            requests=[report_request(emulator, [], ["eventCount"])] * 6,
        )

        with pytest.raises(exceptions.BadRequest):
            client.batch_run_reports(batch)

    def test_get_metadata_lists_registered_custom_definitions(
        self, emulator: GA4Emulator, client: BetaAnalyticsDataClient
    ) -> None:
        """Custom definitions appear as customEvent:<name>, metrics with their type."""
        metadata = client.get_metadata(
            GetMetadataRequest(name=f"{emulator.property_name}/metadata")
        )

        custom_dimensions = {
            d.api_name for d in metadata.dimensions if d.custom_definition
        }
        custom_metrics = {
            m.api_name: m.type_.name for m in metadata.metrics if m.custom_definition
        }
        assert custom_dimensions == {
            "customEvent:button_type",
            "customEvent:page_variant",
        }
        assert custom_metrics == {"customEvent:hover_duration": "TYPE_MILLISECONDS"}
        assert "eventName" in {d.api_name for d in metadata.dimensions}


class TestConcurrencyAndLifecycle:
    async def test_high_water_mark_and_concurrency_limit(
        self, button_events: list[Any]
    ) -> None:
        """Slow requests overlap; past the limit GA4's concurrency error answers."""
        async with GA4Emulator(
            button_events,
            quota=QuotaLimits(concurrent_requests=3),
            faults=[Fault(latency_s=0.3)],
            today=TODAY,
        ) as emulator:
            request = report_request(emulator, [], ["eventCount"])
            async with emulator.async_client() as data_client:
                outcomes = await asyncio.gather(
                    *(data_client.run_report(request) for _ in range(5)),
                    return_exceptions=True,
                )

        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert emulator.max_concurrent_requests > 3
        assert len(refused) == 2
        assert all(isinstance(o, exceptions.ResourceExhausted) for o in refused)
        assert "Exhausted concurrent requests quota." in str(refused[0])

    def test_threads_stay_under_a_client_side_limit(
        self, emulator: GA4Emulator
    ) -> None:
        """A client that allows two requests at a time shows a high-water mark of 2."""
        emulator.inject(Fault(latency_s=0.1))
        gate = threading.Semaphore(2)
        request = report_request(emulator, [], ["eventCount"])

        with emulator.client() as data_client:

            def fetch() -> None:
                with gate:
                    data_client.run_report(request)

            workers = [threading.Thread(target=fetch) for _ in range(6)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()

        assert emulator.max_concurrent_requests == 2
        assert len(emulator.requests) == 6

    def test_starts_fast_and_stops_clean(self) -> None:
        """Start takes well under a second; the servers' threads end on stop."""
        threads_before = set(threading.enumerate())
        started = time.perf_counter()
        with GA4Emulator(today=TODAY) as emulator:
            startup_s = time.perf_counter() - started
            address = emulator.grpc_target

        leftover = {
            t
            for t in set(threading.enumerate()) - threads_before
            if t.name.startswith("ga4-emulator")
        }
        assert startup_s < 0.5
        assert address.startswith("127.0.0.1:")
        assert leftover == set()
        with pytest.raises(RuntimeError, match="not running"):
            _ = emulator.rest_endpoint


class TestModels:
    def test_event_params_are_frozen_pairs(self) -> None:
        """A mapping of params becomes a sorted tuple, so events hash."""
        one = event("cta_click", "u1", b=2, a="x")

        assert one.params == (("a", "x"), ("b", 2))
        assert one.param("b") == 2
        assert one.param("missing") is None
        assert hash(one) == hash(event("cta_click", "u1", a="x", b=2))

    def test_fault_rejects_unknown_status(self) -> None:
        """A typo in a status name fails when the fault is made, not at request time."""
        with pytest.raises(ValueError, match=r"google\.rpc status"):
            Fault(status="TOO_MANY")  # type: ignore[arg-type]

    def test_table_needs_row_count_with_a_row_function(self) -> None:
        """A function-backed table cannot guess its size."""
        with pytest.raises(TypeError, match="row_count"):
            ReportTable(
                dimensions=["eventName"],
                metrics=["eventCount"],
                rows=lambda i: ((), ()),
            )


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        parsed: dict[str, Any] = json.loads(response.read())
    return parsed
