"""TrendStore on every store: daily rows replaced when restated, alert state kept."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from ga4_button_workflows.models import AnalysisRecord, DailyCounts, Period, SentAlert
from ga4_button_workflows.ports import InsightStore, TrendStore
from ga4_button_workflows.stores import JSONFileInsightStore, MemoryInsightStore, sql
from ga4_button_workflows.stores.sql import SQLInsightStore

PROPERTY_ID = "123456789"
OTHER_PROPERTY_ID = "987654321"
RESTATED_DAY = datetime.date(2024, 5, 7)


def row(
    date: datetime.date,
    clicking: int = 40,
    *,
    button: str = "cta",
    variant: str = "colors",
    exposed: int | None = 900,
) -> DailyCounts:
    return DailyCounts(
        date=date,
        button=button,
        variant=variant,
        exposed_users=exposed,
        exposure_events=1100,
        clicking_users=clicking,
        click_events=clicking + 3,
    )


SPAN = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 14))


def sent(change: float, analysis_id: str = "a-1") -> SentAlert:
    return SentAlert(
        relative_change=change, analysis_id=analysis_id, previous_rate=0.06, span=SPAN
    )


def week(first: datetime.date, clicking: int) -> list[DailyCounts]:
    return [row(first + datetime.timedelta(days=n), clicking) for n in range(7)]


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")))
    finally:
        engine.dispose()


@pytest.fixture(params=["memory", "json", "sqlite", "postgresql"])
async def trend_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TrendStore]:
    """Each store of the library, empty."""
    if request.param == "memory":
        yield MemoryInsightStore()
    elif request.param == "json":
        yield JSONFileInsightStore(tmp_path / "button_insights.json")
    else:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'insights.db'}"
        else:
            url = request.getfixturevalue("postgres_server").create_database()
        store = SQLInsightStore(url)
        try:
            yield store
        finally:
            await store.close()


class TestDailyRows:
    async def test_a_day_restated_between_two_runs_leaves_the_restated_clicks(
        self, trend_store: TrendStore
    ) -> None:
        await trend_store.save_daily(PROPERTY_ID, [row(RESTATED_DAY, 40)])
        await trend_store.save_daily(PROPERTY_ID, [row(RESTATED_DAY, 95)])

        history = await trend_store.daily_history(
            PROPERTY_ID, start=RESTATED_DAY, end=RESTATED_DAY
        )

        assert history == [row(RESTATED_DAY, 95)]

    async def test_a_rerun_over_an_overlapping_period_replaces_never_adds(
        self, trend_store: TrendStore
    ) -> None:
        first_week = datetime.date(2024, 5, 1)
        await trend_store.save_daily(PROPERTY_ID, week(first_week, 40))
        await trend_store.save_daily(PROPERTY_ID, week(datetime.date(2024, 5, 5), 95))

        history = await trend_store.daily_history(
            PROPERTY_ID, start=first_week, end=datetime.date(2024, 5, 31)
        )

        assert [(r.date.day, r.clicking_users) for r in history] == [
            (1, 40),
            (2, 40),
            (3, 40),
            (4, 40),
            *((day, 95) for day in range(5, 12)),
        ]

    async def test_the_last_row_of_a_day_wins_within_one_save(
        self, trend_store: TrendStore
    ) -> None:
        await trend_store.save_daily(
            PROPERTY_ID, [row(RESTATED_DAY, 40), row(RESTATED_DAY, 95)]
        )

        history = await trend_store.daily_history(
            PROPERTY_ID, start=RESTATED_DAY, end=RESTATED_DAY
        )

        assert [r.clicking_users for r in history] == [95]

    async def test_history_is_per_property_within_the_dates_and_sorted(
        self, trend_store: TrendStore
    ) -> None:
        await trend_store.save_daily(
            PROPERTY_ID,
            [
                row(datetime.date(2024, 5, 3), button="nav", variant="original"),
                row(datetime.date(2024, 5, 2), button="nav"),
                row(datetime.date(2024, 5, 2), button="cta", exposed=None),
                row(datetime.date(2024, 4, 30)),
            ],
        )
        await trend_store.save_daily(
            OTHER_PROPERTY_ID, [row(datetime.date(2024, 5, 2))]
        )

        history = await trend_store.daily_history(
            PROPERTY_ID, start=datetime.date(2024, 5, 1), end=datetime.date(2024, 5, 3)
        )

        assert [(r.date.day, r.button, r.variant) for r in history] == [
            (2, "cta", "colors"),
            (2, "nav", "colors"),
            (3, "nav", "original"),
        ]
        assert history[0].exposed_users is None

    async def test_saving_nothing_changes_nothing(
        self, trend_store: TrendStore
    ) -> None:
        await trend_store.save_daily(PROPERTY_ID, [])

        assert (
            await trend_store.daily_history(
                PROPERTY_ID, start=datetime.date.min, end=datetime.date.max
            )
            == []
        )

    async def test_a_hostile_button_name_round_trips(
        self, trend_store: TrendStore, hostile_button: str
    ) -> None:
        await trend_store.save_daily(
            PROPERTY_ID, [row(RESTATED_DAY, button=hostile_button)]
        )

        (stored,) = await trend_store.daily_history(
            PROPERTY_ID, start=RESTATED_DAY, end=RESTATED_DAY
        )

        assert stored.button == hostile_button


class TestAlertState:
    async def test_a_recorded_alert_is_remembered_per_property(
        self, trend_store: TrendStore
    ) -> None:
        await trend_store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.3))

        assert await trend_store.sent_alerts(PROPERTY_ID) == {
            "cta|colors|drop": sent(-0.3)
        }
        assert await trend_store.sent_alerts(OTHER_PROPERTY_ID) == {}

    async def test_recording_a_key_again_replaces_its_relative_change(
        self, trend_store: TrendStore
    ) -> None:
        later = SentAlert(
            relative_change=-0.4,
            analysis_id="a-2",
            span=Period(datetime.date(2024, 5, 15), datetime.date(2024, 5, 28)),
        )
        await trend_store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.3))
        await trend_store.record_alert(PROPERTY_ID, "cta|colors|drop", later)
        await trend_store.record_alert(PROPERTY_ID, "cta|colors|rise", sent(0.2, "a-2"))

        assert await trend_store.sent_alerts(PROPERTY_ID) == {
            "cta|colors|drop": later,
            "cta|colors|rise": sent(0.2, "a-2"),
        }

    async def test_an_alert_without_its_days_is_kept_without_them(
        self, trend_store: TrendStore
    ) -> None:
        unknown = SentAlert(relative_change=-0.3, analysis_id="a-1")

        await trend_store.record_alert(PROPERTY_ID, "cta|colors|drop", unknown)

        assert await trend_store.sent_alerts(PROPERTY_ID) == {
            "cta|colors|drop": unknown
        }

    def test_a_relative_change_that_is_not_finite_is_refused(self) -> None:
        with pytest.raises(ValueError, match=r"relative_change must be a finite"):
            sent(math.nan)

    async def test_anything_but_a_sent_alert_is_refused_by_name(
        self, trend_store: TrendStore
    ) -> None:
        with pytest.raises(TypeError, match=r"takes a SentAlert, got float -0.3"):
            await trend_store.record_alert(PROPERTY_ID, "k", -0.3)  # type: ignore[arg-type]

        assert await trend_store.sent_alerts(PROPERTY_ID) == {}

    def test_every_store_is_a_trend_store_and_an_insight_store(
        self, trend_store: TrendStore
    ) -> None:
        assert isinstance(trend_store, TrendStore)
        assert isinstance(trend_store, InsightStore)


class TestJSONFile:
    async def test_daily_rows_and_alerts_sit_beside_the_original_keys(
        self, tmp_path: Path, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        path = tmp_path / "button_insights.json"
        store = JSONFileInsightStore(path)
        await store.save_daily(PROPERTY_ID, [row(RESTATED_DAY, 40)])
        await store.save_analysis(make_record("analysis-1"))
        await store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.3))

        content = json.loads(path.read_text(encoding="utf-8"))

        assert content["best_performing_button"] == "cta on colors"
        assert content["store_version"] == 1
        assert content["daily"] == [
            {
                "property_id": PROPERTY_ID,
                "date": "2024-05-07",
                "button": "cta",
                "variant": "colors",
                "exposed_users": 900,
                "exposure_events": 1100,
                "clicking_users": 40,
                "click_events": 43,
            }
        ]
        assert [entry["alert_key"] for entry in content["alerts"]] == [
            "cta|colors|drop"
        ]

    async def test_a_damaged_alert_record_is_left_out_so_it_never_silences(
        self, tmp_path: Path, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        path = tmp_path / "button_insights.json"
        store = JSONFileInsightStore(path)
        await store.save_analysis(make_record("analysis-1"))
        await store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.3))
        content = json.loads(path.read_text(encoding="utf-8"))
        (entry,) = content["alerts"]
        damaged = (
            [
                {"relative_change": value}
                for value in ("oops", None, True, 10**400, "NaN")
            ]
            + [
                {"span": value}
                for value in (
                    "2024-05-01",
                    {"start": "2024-05-14"},
                    {"start": 1, "end": 2},
                )
            ]
            + [
                {"span": {"start": "2024-05-14", "end": "2024-05-01"}},
                {"analysis_id": 7},
                {"previous_rate": -0.06},
                {"previous_rate": "oops"},
            ]
        )
        content["alerts"] = [
            {**entry, "alert_key": f"key{i}", **change}
            for i, change in enumerate(damaged)
        ] + [entry]
        path.write_text(json.dumps(content), encoding="utf-8")

        assert await store.sent_alerts(PROPERTY_ID) == {"cta|colors|drop": sent(-0.3)}

    async def test_an_alert_recorded_before_spans_reads_without_them(
        self, tmp_path: Path, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        path = tmp_path / "button_insights.json"
        store = JSONFileInsightStore(path)
        await store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.3))
        content = json.loads(path.read_text(encoding="utf-8"))
        assert content["alerts"][0]["span"] == {
            "start": "2024-05-01",
            "end": "2024-05-14",
        }
        assert content["alerts"][0]["previous_rate"] == 0.06
        del content["alerts"][0]["span"], content["alerts"][0]["previous_rate"]
        path.write_text(json.dumps(content), encoding="utf-8")

        assert await store.sent_alerts(PROPERTY_ID) == {
            "cta|colors|drop": SentAlert(relative_change=-0.3, analysis_id="a-1")
        }

    async def test_a_file_from_before_trends_reads_as_having_no_history(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "button_insights.json"
        path.write_text(
            json.dumps(
                {"timestamp": "2024-05-08T06:00:00+00:00", "recommendations": []}
            )
        )
        store = JSONFileInsightStore(path)

        assert await store.sent_alerts(PROPERTY_ID) == {}
        assert (
            await store.daily_history(
                PROPERTY_ID, start=datetime.date.min, end=datetime.date.max
            )
            == []
        )
        await store.save_daily(PROPERTY_ID, [row(RESTATED_DAY)])
        content = json.loads(path.read_text(encoding="utf-8"))
        assert content["timestamp"] == "2024-05-08T06:00:00+00:00"
        assert len(content["daily"]) == 1


class TestSQLSchema:
    async def test_a_version_1_database_gets_the_trend_tables_and_keeps_its_data(
        self,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        record = make_record("analysis-1")
        with monkeypatch.context() as patch:
            patch.setattr(sql, "SCHEMA_VERSION", 1)
            async with SQLInsightStore(database_url) as old_store:
                await old_store.save_analysis(record)
        engine = sa.create_engine(database_url)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("DROP TABLE daily_metrics"))
                connection.execute(sa.text("DROP TABLE alerts"))
        finally:
            engine.dispose()
        assert {"daily_metrics", "alerts"}.isdisjoint(table_names(database_url))

        async with SQLInsightStore(database_url) as new_store:
            assert await new_store.schema_version() == sql.SCHEMA_VERSION
            assert await new_store.get_analysis("analysis-1") == record
            await new_store.save_daily(PROPERTY_ID, [row(RESTATED_DAY, 95)])
            await new_store.record_alert(PROPERTY_ID, "k", sent(-0.3))
            assert await new_store.sent_alerts(PROPERTY_ID) == {"k": sent(-0.3)}

        assert {"daily_metrics", "alerts"} <= table_names(database_url)
        # One stamp per version: created at 1, then each upgrade step.
        assert count_rows(database_url, "schema_version") == sql.SCHEMA_VERSION
        assert count_rows(database_url, "daily_metrics") == 1

    async def test_a_version_3_database_keeps_its_alerts_with_unknown_days(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(sql, "SCHEMA_VERSION", 3)
            async with SQLInsightStore(database_url) as old_store:
                assert await old_store.schema_version() == 3
        engine = sa.create_engine(database_url)
        try:
            with engine.begin() as connection:  # the alerts table of version 3
                connection.execute(sa.text("DROP TABLE alerts"))
                connection.execute(
                    sa.text(
                        "CREATE TABLE alerts (property_id VARCHAR NOT NULL, "
                        "alert_key VARCHAR NOT NULL, relative_change FLOAT NOT NULL, "
                        "analysis_id VARCHAR NOT NULL, alerted_at TIMESTAMP NOT NULL, "
                        "PRIMARY KEY (property_id, alert_key))"
                    )
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO alerts VALUES "
                        "(:property, 'cta|colors|drop', -0.3, 'a-1', :now)"
                    ),
                    {
                        "property": PROPERTY_ID,
                        "now": datetime.datetime(
                            2024, 5, 8, tzinfo=datetime.timezone.utc
                        ),
                    },
                )
        finally:
            engine.dispose()

        async with SQLInsightStore(database_url) as new_store:
            assert await new_store.schema_version() == 4
            assert await new_store.sent_alerts(PROPERTY_ID) == {
                "cta|colors|drop": SentAlert(relative_change=-0.3, analysis_id="a-1")
            }
            await new_store.record_alert(PROPERTY_ID, "cta|colors|drop", sent(-0.4))
            assert await new_store.sent_alerts(PROPERTY_ID) == {
                "cta|colors|drop": sent(-0.4)
            }

    async def test_a_new_database_is_created_at_the_current_version_with_trends(
        self, sql_store: SQLInsightStore, database_url: str
    ) -> None:
        assert await sql_store.schema_version() == sql.SCHEMA_VERSION
        assert {"daily_metrics", "alerts"} <= table_names(database_url)
        assert count_rows(database_url, "schema_version") == 1

    async def test_a_restatement_updates_the_row_in_place(
        self, sql_store: SQLInsightStore, database_url: str
    ) -> None:
        await sql_store.save_daily(PROPERTY_ID, week(datetime.date(2024, 5, 1), 40))
        await sql_store.save_daily(PROPERTY_ID, [row(RESTATED_DAY, 95)])

        assert count_rows(database_url, "daily_metrics") == 7


class TestAnalysisForPeriod:
    """The baseline of a change finding: the analysis of exactly one period."""

    async def test_finds_the_analysis_of_that_period_not_the_latest(
        self,
        trend_store: TrendStore,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        assert isinstance(trend_store, InsightStore)
        week_1 = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
        week_2 = Period(datetime.date(2024, 5, 8), datetime.date(2024, 5, 14))
        saved = datetime.datetime(2024, 5, 15, tzinfo=datetime.timezone.utc)
        await trend_store.save_analysis(
            make_record("a-week-1", property_id=PROPERTY_ID, period=week_1)
        )
        await trend_store.save_analysis(
            make_record(
                "a-week-2", property_id=PROPERTY_ID, period=week_2, saved_at=saved
            )
        )
        await trend_store.save_analysis(
            make_record("b-week-1", property_id=OTHER_PROPERTY_ID, period=week_1)
        )

        found = await trend_store.analysis_for_period(PROPERTY_ID, week_1)
        missing = await trend_store.analysis_for_period(
            PROPERTY_ID, Period(datetime.date(2024, 4, 1), datetime.date(2024, 4, 7))
        )

        assert found is not None
        assert found.analysis_id == "a-week-1"
        assert missing is None


class TestLargeCounts:
    """GA4 counts are 64-bit; so are the stores' count columns."""

    async def test_counts_past_two_to_the_31_are_kept_exactly(
        self, database_url: str, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        huge = 3_000_000_000
        record = make_record("analysis-huge")
        metrics = record.insights.buttons[0]
        big = attrs.evolve(
            metrics, exposed_users=huge, exposure_events=2 * huge, click_events=huge
        )
        insights = attrs.evolve(
            record.insights, buttons=(big, *record.insights.buttons[1:])
        )
        async with SQLInsightStore(database_url) as store:
            await store.save_analysis(attrs.evolve(record, insights=insights))
            await store.save_daily(
                PROPERTY_ID,
                [attrs.evolve(row(RESTATED_DAY, 95), exposure_events=huge)],
            )
            history = await store.button_history(PROPERTY_ID, big.button, big.variant)
            daily = await store.daily_history(
                PROPERTY_ID, start=RESTATED_DAY, end=RESTATED_DAY
            )

        assert history[-1].exposed_users == huge
        assert history[-1].click_events == huge
        assert daily[0].exposure_events == huge
