"""ReportFileSource: saved GA4 responses go through the live parsing path."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    RunReportRequest,
)
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.insights import generate_insights
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import FetchRequest, Period
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_errors import DATA_ERROR
from ga4_button_workflows.sources.ga4 import (
    GA4DataSource,
    aggregate_report_request,
    daily_report_request,
)
from ga4_button_workflows.sources.report_file import (
    REPORT_FILE_ERROR,
    ReportFileSource,
    read_report_file,
    report_to_json,
    write_report_file,
)
from ga4_button_workflows.testing import EmulatedEvent, GA4Emulator
from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

SAMPLE = Path(__file__).parent.parent / "data" / "ga4_batch_run_reports.json"
SAMPLE_PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 4))


def sample_emulator() -> GA4Emulator:
    """The landing page's seeded traffic over SAMPLE_PERIOD, in UTC."""
    events = [
        EmulatedEvent(
            date=e.date, user_id=e.user_id, event_name=e.event_name, params=e.params
        )
        for e in generate_landing_page_traffic(
            start=SAMPLE_PERIOD.start,
            days=SAMPLE_PERIOD.days,
            visitors_per_variant_per_day=150,
            seed=20240501,
        )
    ]
    return GA4Emulator(
        events,
        custom_dimensions=["button_type", "page_variant"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=SAMPLE_PERIOD.end + datetime.timedelta(days=1),
        time_zone="UTC",
    )


def in_batch(request: RunReportRequest) -> RunReportRequest:
    """A report request as a batch item: the batch names the property."""
    item = RunReportRequest(request)
    item.property = ""
    item.return_property_quota = False
    return item


def record_sample(emulator: GA4Emulator, path: Path) -> Path:
    """Save the batchRunReports answer the sample file holds: whole period + daily."""
    property_id = emulator.property_id
    request = BatchRunReportsRequest(
        property=emulator.property_name,
        requests=[
            in_batch(
                aggregate_report_request(
                    ORIGINAL_LANDING_PAGE, property_id, SAMPLE_PERIOD
                )
            ),
            in_batch(
                daily_report_request(ORIGINAL_LANDING_PAGE, property_id, SAMPLE_PERIOD)
            ),
        ],
    )
    with emulator.client() as client:
        return write_report_file(client.batch_run_reports(request), path, indent=None)


def save(tmp_path: Path, document: Any, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def runreport(
    rows: list[tuple[list[str], list[str]]],
    *,
    dimensions: tuple[str, ...] = (
        "eventName",
        "customEvent:button_type",
        "customEvent:page_variant",
    ),
    metric_types: tuple[Any, ...] = ("TYPE_INTEGER", "TYPE_INTEGER"),
    **extra: Any,
) -> dict[str, Any]:
    """A runReport response as the REST API spells it."""
    names = ("eventCount", "totalUsers", "customEvent:hover_duration")
    return {
        "dimensionHeaders": [{"name": name} for name in dimensions],
        "metricHeaders": [
            {"name": name, "type": kind}
            for name, kind in zip(names, metric_types, strict=False)
        ],
        "rows": [
            {
                "dimensionValues": [{"value": v} if v else {} for v in dims],
                "metricValues": [{"value": v} for v in values],
            }
            for dims, values in rows
        ],
        "rowCount": str(len(rows)),
        "metadata": {"currencyCode": "EUR", "timeZone": "Europe/Paris"},
        "kind": "analyticsData#runReport",
        **extra,
    }


SCHEMA_WITHOUT_DURATION = attrs.evolve(
    ORIGINAL_LANDING_PAGE, name="no_duration", duration_metric=None
)


class TestSampleFile:
    def test_the_sample_is_what_the_emulator_answers(self, tmp_path: Path) -> None:
        with sample_emulator() as emulator:
            fresh = record_sample(emulator, tmp_path / "fresh.json")

        assert json.loads(fresh.read_text()) == json.loads(SAMPLE.read_text())

    async def test_the_sample_gives_the_live_report(self) -> None:
        saved = ReportFileSource(SAMPLE).read_report(
            property_id="123456789", period=SAMPLE_PERIOD
        )
        async with (
            sample_emulator() as emulator,
            GA4DataSource(client_factory=emulator.async_client, daily=True) as source,
        ):
            fetched = await source.fetch_report(
                FetchRequest(
                    property_id=emulator.property_id,
                    period=SAMPLE_PERIOD,
                    time_zone="UTC",
                ),
                FetchContext(),
            )

        assert saved.counts == fetched.counts
        assert saved.exposures == fetched.exposures
        assert saved.daily == fetched.daily
        assert saved.time_zone == fetched.time_zone == "UTC"
        assert len(saved.daily) == 60
        assert not saved.quality.notes

    def test_the_sample_yields_insights(self) -> None:
        report = ReportFileSource(SAMPLE).read_report(period=SAMPLE_PERIOD)
        insights = generate_insights(
            compute_metrics(report),
            generated_at=datetime.datetime.now(datetime.timezone.utc),
        )

        assert insights.best_performing_button is not None
        assert insights.best_performing_button != insights.worst_performing_button

    def test_analyze_prints_the_insights_json(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ga4_button_workflows.cli",
                "analyze",
                "--report-file",
                str(SAMPLE),
                "--json",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["best_performing_button"]
        assert document["performance_summary"]["total_buttons_analyzed"] > 0


class TestShapes:
    async def test_pages_saved_as_one_batch_read_back_as_one_report(
        self, tmp_path: Path
    ) -> None:
        async with sample_emulator() as emulator, emulator.async_client() as client:
            pages = [
                await client.run_report(
                    aggregate_report_request(
                        ORIGINAL_LANDING_PAGE,
                        emulator.property_id,
                        SAMPLE_PERIOD,
                        limit=30,
                        offset=offset,
                    )
                )
                for offset in (0, 30, 60)
            ]
        path = write_report_file(pages, tmp_path / "pages.json")

        document = json.loads(path.read_text())
        assert document["kind"] == "analyticsData#batchRunReports"
        assert [len(r.get("rows", ())) for r in document["reports"]] == [30, 30, 5]
        assert document["reports"][0]["propertyQuota"]["tokensPerHour"]["consumed"]
        report = ReportFileSource(path).read_report(period=SAMPLE_PERIOD)
        sample = ReportFileSource(SAMPLE).read_report(period=SAMPLE_PERIOD)
        assert report.counts == sample.counts
        assert report.pages_fetched == 3

    def test_one_runreport_response_and_a_list_of_them_are_read(
        self, tmp_path: Path
    ) -> None:
        rows = [(["cta_click", "cta", "original"], ["4", "3"])]
        single = save(tmp_path, runreport(rows), "single.json")
        listed = save(tmp_path, [runreport(rows), runreport(rows)], "list.json")

        assert len(read_report_file(single)) == 1
        assert len(read_report_file(listed)) == 2
        report = ReportFileSource(
            [single, listed], schema=SCHEMA_WITHOUT_DURATION
        ).read_report(period=SAMPLE_PERIOD)
        assert report.counts[0].click_events == 12
        assert (report.time_zone, report.currency) == ("Europe/Paris", "EUR")

    def test_integer_enums_and_omitted_empty_values_are_understood(
        self, tmp_path: Path
    ) -> None:
        # The client's to_json writes enums as numbers; proto3 JSON leaves "" out.
        rows = [
            (["feature_click", "", "colors"], ["5", "4", "2.5"]),
            (["cta_click", "cta", ""], ["2", "2", "1"]),
        ]
        path = save(tmp_path, runreport(rows, metric_types=(1, 1, 4)))

        report = ReportFileSource(path).read_report(period=SAMPLE_PERIOD)
        by_button = {(c.button, c.variant): c for c in report.counts}
        assert by_button[("feature_card", "colors")].hover_duration_total_ms == 2_500
        assert by_button[("cta", "(not set)")].click_events == 2
        assert report.quality.placeholder_rows == 1

    def test_metadata_caveats_are_read_from_the_file(self, tmp_path: Path) -> None:
        document = runreport([(["cta_click", "cta", "original"], ["4", "3"])])
        document["metadata"].update(
            subjectToThresholding=True,
            dataLossFromOtherRow=True,
            samplingMetadatas=[
                {"samplesReadCount": "40", "samplingSpaceSize": "100"},
                {"samplesReadCount": "10", "samplingSpaceSize": "100"},
            ],
            emptyReason="",
        )
        path = save(tmp_path, document)

        quality = (
            ReportFileSource(path, schema=SCHEMA_WITHOUT_DURATION)
            .read_report(period=SAMPLE_PERIOD)
            .quality
        )
        assert (quality.thresholded, quality.other_row, quality.sampled) == (
            True,
            True,
            True,
        )
        assert quality.sampling_ratio == pytest.approx(0.1)


class TestDays:
    def daily_rows(self) -> list[tuple[list[str], list[str]]]:
        return [
            (["20240502", "page_view", "", "a"], ["12", "12"]),
            (["20240501", "page_view", "", "a"], ["10", "10"]),
            (["20240501", "cta_click", "cta", "a"], ["3", "3"]),
            (["(other)", "cta_click", "cta", "a"], ["1", "1"]),
        ]

    def test_a_daily_report_alone_is_folded_with_users_as_upper_bounds(
        self, tmp_path: Path
    ) -> None:
        dimensions = ("date", "eventName", "customEvent:button_type")
        dimensions += ("customEvent:page_variant",)
        path = save(tmp_path, runreport(self.daily_rows(), dimensions=dimensions))

        report = ReportFileSource(path, schema=SCHEMA_WITHOUT_DURATION).read_report()
        assert report.period == Period(
            datetime.date(2024, 5, 1), datetime.date(2024, 5, 2)
        )
        [exposure] = report.exposures
        assert exposure.users == 22
        assert any("upper bounds" in note for note in report.quality.notes)
        assert report.daily == ()

    def test_a_report_without_dates_has_an_assumed_period(self, tmp_path: Path) -> None:
        path = save(tmp_path, runreport([(["cta_click", "cta", "a"], ["1", "1"])]))

        report = ReportFileSource(path, schema=SCHEMA_WITHOUT_DURATION).read_report()
        assert report.period.days == 7
        assert any("assumed" in note for note in report.quality.notes)

    async def test_fetch_report_files_the_report_under_the_request(
        self, tmp_path: Path
    ) -> None:
        path = save(tmp_path, runreport([(["cta_click", "cta", "a"], ["1", "1"])]))
        alive: list[object] = []

        report = await ReportFileSource(
            path, schema=SCHEMA_WITHOUT_DURATION
        ).fetch_report(
            FetchRequest(property_id="42", period=SAMPLE_PERIOD, time_zone="UTC"),
            FetchContext(heartbeat=lambda *details: alive.append(details)),
        )
        assert (report.property_id, report.period) == ("42", SAMPLE_PERIOD)
        assert report.time_zone == "Europe/Paris"
        assert not report.quality.notes
        assert alive


class TestErrors:
    def test_a_missing_file_is_a_non_retryable_error(self, tmp_path: Path) -> None:
        with pytest.raises(ApplicationError, match="cannot read") as raised:
            ReportFileSource(tmp_path / "missing.json").read_report()

        assert (raised.value.type, raised.value.non_retryable) == (
            REPORT_FILE_ERROR,
            True,
        )

    def test_a_file_that_is_not_json_says_so(self, tmp_path: Path) -> None:
        path = tmp_path / "report.json"
        path.write_text("dimensionHeaders: nope")

        with pytest.raises(ApplicationError, match="is not JSON"):
            read_report_file(path)

    def test_json_that_is_not_a_report_lists_its_keys(self, tmp_path: Path) -> None:
        path = save(tmp_path, {"error": {"code": 403}})

        with pytest.raises(ApplicationError, match="top-level keys: error"):
            read_report_file(path)

    def test_a_report_without_the_schema_columns_names_them(
        self, tmp_path: Path
    ) -> None:
        path = save(
            tmp_path,
            runreport([(["x"], ["1", "1"])], dimensions=("pagePath",)),
        )

        with pytest.raises(ApplicationError, match="no dimension eventName") as raised:
            ReportFileSource(path).read_report()

        assert raised.value.type == DATA_ERROR
        assert "original_landing_page" in str(raised.value)

    def test_a_value_that_is_not_a_number_names_value_row_and_metric(
        self, tmp_path: Path
    ) -> None:
        rows = [
            (["cta_click", "cta", "a"], ["1", "1"]),
            (["cta_click", "cta", "b"], ["1", "NaN"]),
        ]
        path = save(tmp_path, runreport(rows))

        with pytest.raises(ApplicationError) as raised:
            ReportFileSource(path, schema=SCHEMA_WITHOUT_DURATION).read_report()

        message = str(raised.value)
        assert "'NaN'" in message
        assert "totalUsers" in message
        assert "row 2" in message

    def test_a_negative_user_count_is_a_data_error(self, tmp_path: Path) -> None:
        path = save(tmp_path, runreport([(["cta_click", "cta", "a"], ["1", "-2"])]))

        with pytest.raises(ApplicationError, match="totalUsers -2") as raised:
            ReportFileSource(path, schema=SCHEMA_WITHOUT_DURATION).read_report()

        assert raised.value.type == DATA_ERROR
        assert "row 1" in str(raised.value)

    def test_no_file_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            ReportFileSource([])


def test_report_to_json_spells_the_rest_api_names() -> None:
    with sample_emulator() as emulator, emulator.client("grpc") as client:
        response = client.run_report(
            aggregate_report_request(
                ORIGINAL_LANDING_PAGE, emulator.property_id, SAMPLE_PERIOD, limit=2
            )
        )

    document = report_to_json(response)
    assert document["metricHeaders"][0] == {
        "name": "eventCount",
        "type": "TYPE_INTEGER",
    }
    assert int(document["rowCount"]) == 65
    assert set(document["rows"][0]) == {"dimensionValues", "metricValues"}
