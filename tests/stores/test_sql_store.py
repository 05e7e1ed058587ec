"""SQLInsightStore on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ga4_button_workflows.models import AnalysisRecord, ButtonInsights, Period
from ga4_button_workflows.ports import InsightStore
from ga4_button_workflows.stores import sql
from ga4_button_workflows.stores.sql import SQLInsightStore

PROPERTY_ID = "123456789"
OTHER_PROPERTY_ID = "987654321"
UTC = datetime.timezone.utc
WEEK_1 = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
WEEK_2 = Period(datetime.date(2024, 5, 8), datetime.date(2024, 5, 14))


def count_rows(url: str, table: str, analysis_id: str | None = None) -> int:
    """Count rows with a connection of the test's own, not the store's."""
    engine = sa.create_engine(url)
    try:
        query = f"SELECT count(*) FROM {table}"
        if analysis_id is not None:
            query += " WHERE analysis_id = :analysis_id"
        with engine.connect() as connection:
            return int(connection.scalar(sa.text(query), {"analysis_id": analysis_id}))
    finally:
        engine.dispose()


def column_names(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {column["name"] for column in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def at(hour: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 8, hour, 0, tzinfo=UTC)


class TestIdempotentSaves:
    async def test_the_same_run_saved_twice_leaves_one_analysis_and_one_set_of_metrics(
        self,
        sql_store: SQLInsightStore,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        first = make_record("analysis-1", run_id="run-a", saved_at=at(6))
        retried = make_record("analysis-1", run_id="run-a", saved_at=at(7))

        assert await sql_store.save_analysis(first) is True
        assert await sql_store.save_analysis(retried) is False

        assert count_rows(database_url, "analyses") == 1
        assert count_rows(database_url, "button_metrics", "analysis-1") == 2
        assert await sql_store.get_analysis("analysis-1") == retried

    async def test_a_retry_with_other_buttons_replaces_the_metric_rows(
        self,
        sql_store: SQLInsightStore,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
        make_insights: Callable[..., ButtonInsights],
    ) -> None:
        await sql_store.save_analysis(make_record("analysis-1"))
        smaller = make_insights(with_hostile_button=False)

        await sql_store.save_analysis(make_record("analysis-1", insights=smaller))

        assert count_rows(database_url, "button_metrics", "analysis-1") == 1

    async def test_concurrent_saves_of_one_analysis_report_exactly_one_as_new(
        self,
        sql_store: SQLInsightStore,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        records = [make_record("analysis-1", saved_at=at(hour)) for hour in range(6)]

        results = await asyncio.gather(*map(sql_store.save_analysis, records))

        assert sorted(results) == [False] * 5 + [True]
        assert count_rows(database_url, "analyses") == 1
        assert count_rows(database_url, "button_metrics") == 2


class TestQueries:
    async def test_an_analysis_reads_back_equal_to_what_was_saved(
        self, sql_store: SQLInsightStore, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        record = make_record("analysis-1")

        await sql_store.save_analysis(record)

        assert await sql_store.get_analysis("analysis-1") == record
        assert await sql_store.get_analysis("missing") is None

    async def test_latest_analysis_is_the_most_recently_saved_of_the_property(
        self, sql_store: SQLInsightStore, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        await sql_store.save_analysis(make_record("old", saved_at=at(6)))
        await sql_store.save_analysis(make_record("new", saved_at=at(8)))
        await sql_store.save_analysis(
            make_record("other", property_id=OTHER_PROPERTY_ID, saved_at=at(9))
        )

        latest = await sql_store.latest_analysis(PROPERTY_ID)
        latest_overall = await sql_store.latest_analysis()

        assert latest is not None
        assert latest.analysis_id == "new"
        assert latest_overall is not None
        assert latest_overall.analysis_id == "other"
        assert await sql_store.latest_analysis("555") is None

    async def test_button_history_follows_a_button_over_two_analyses(
        self,
        sql_store: SQLInsightStore,
        make_record: Callable[..., AnalysisRecord],
        make_insights: Callable[..., ButtonInsights],
    ) -> None:
        # Saved out of order: history follows the periods, not the saves.
        await sql_store.save_analysis(
            make_record(
                "week-2",
                period=WEEK_2,
                saved_at=at(6),
                insights=make_insights(period=WEEK_2, cta_clicking_users=96),
            )
        )
        await sql_store.save_analysis(
            make_record("week-1", period=WEEK_1, saved_at=at(7))
        )

        history = await sql_store.button_history(PROPERTY_ID, "cta", "colors")
        newest_only = await sql_store.button_history(PROPERTY_ID, "cta", limit=1)

        assert [point.analysis_id for point in history] == ["week-1", "week-2"]
        assert [point.clicking_users for point in history] == [84, 96]
        assert [point.period for point in history] == [WEEK_1, WEEK_2]
        assert history[1].click_through_rate == pytest.approx(0.08)
        assert history[1].click_through_rate_lower == pytest.approx(0.06596, abs=1e-5)
        assert history[0].saved_at == at(7)
        assert [point.analysis_id for point in newest_only] == ["week-2"]
        assert await sql_store.button_history(OTHER_PROPERTY_ID, "cta") == []

    async def test_a_hostile_button_name_is_stored_and_queried_verbatim(
        self,
        sql_store: SQLInsightStore,
        make_record: Callable[..., AnalysisRecord],
        hostile_button: str,
    ) -> None:
        await sql_store.save_analysis(make_record("analysis-1"))

        history = await sql_store.button_history(PROPERTY_ID, hostile_button)
        record = await sql_store.get_analysis("analysis-1")

        assert [point.button for point in history] == [hostile_button]
        assert record is not None
        assert record.insights.buttons[1].button == hostile_button


class TestDeliveries:
    async def test_a_delivery_is_remembered_per_analysis_and_channel(
        self, sql_store: SQLInsightStore
    ) -> None:
        assert await sql_store.has_delivery("analysis-1", "slack") is False

        await sql_store.record_delivery("analysis-1", "slack")
        await sql_store.record_delivery("analysis-1", "slack")

        assert await sql_store.has_delivery("analysis-1", "slack") is True
        assert await sql_store.has_delivery("analysis-1", "email") is False
        assert await sql_store.has_delivery("analysis-2", "slack") is False

    async def test_a_delivery_can_be_recorded_before_the_analysis_is_saved(
        self,
        sql_store: SQLInsightStore,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        await sql_store.record_delivery("analysis-1", "slack")
        await sql_store.save_analysis(make_record("analysis-1"))

        assert count_rows(database_url, "deliveries") == 1

    def test_the_store_satisfies_the_protocol(self, sql_store: SQLInsightStore) -> None:
        assert isinstance(sql_store, InsightStore)


class TestSchema:
    async def test_a_new_database_gets_every_table_and_the_current_version(
        self, sql_store: SQLInsightStore, database_url: str
    ) -> None:
        assert await sql_store.schema_version() == sql.SCHEMA_VERSION
        engine = sa.create_engine(database_url)
        try:
            tables = set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"schema_version", "analyses", "button_metrics", "deliveries"} <= tables

    async def test_an_older_database_is_upgraded_in_place_and_keeps_its_data(
        self,
        database_url: str,
        make_record: Callable[..., AnalysisRecord],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        record = make_record("analysis-1")
        async with SQLInsightStore(database_url) as old_store:
            await old_store.save_analysis(record)

        def add_a_column(connection: Any) -> None:
            connection.execute(sa.text("ALTER TABLE analyses ADD COLUMN note TEXT"))

        next_version = sql.SCHEMA_VERSION + 1
        monkeypatch.setattr(sql, "SCHEMA_VERSION", next_version)
        monkeypatch.setitem(sql._UPGRADES, next_version, add_a_column)
        async with SQLInsightStore(database_url) as new_store:
            assert await new_store.schema_version() == next_version
            assert await new_store.get_analysis("analysis-1") == record

        assert "note" in column_names(database_url, "analyses")
        assert count_rows(database_url, "schema_version") == 2

    async def test_a_database_newer_than_the_library_is_refused(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async with SQLInsightStore(database_url) as store:
            await store.has_delivery("a", "b")
        monkeypatch.setattr(sql, "SCHEMA_VERSION", 0)

        async with SQLInsightStore(database_url) as store:
            with pytest.raises(RuntimeError, match="upgrade ga4-button-workflows"):
                await store.has_delivery("a", "b")


class TestConfiguration:
    def test_a_postgresql_url_without_driver_uses_psycopg_and_hides_the_password(
        self,
    ) -> None:
        store = SQLInsightStore("postgresql://app:s3cret@db.example/insights")

        assert store.url == "postgresql+psycopg://app:***@db.example/insights"
        assert "s3cret" not in repr(store)

    def test_other_databases_are_refused(self) -> None:
        with pytest.raises(ValueError, match="SQLite and PostgreSQL"):
            SQLInsightStore("mysql://app@db.example/insights")

    async def test_a_missing_driver_names_the_extra_to_install(self) -> None:
        store = SQLInsightStore("postgresql+pg8000://app@127.0.0.1:1/insights")

        with pytest.raises(ImportError, match=r"ga4-button-workflows\[postgres\]"):
            await store.latest_analysis()

    async def test_an_in_memory_sqlite_database_works_across_threads(
        self, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        async with SQLInsightStore("sqlite://") as store:
            await store.save_analysis(make_record("analysis-1"))
            assert await store.get_analysis("analysis-1") is not None

    async def test_the_default_url_is_button_insights_db_in_the_working_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)

        async with SQLInsightStore() as store:
            await store.record_delivery("analysis-1", "slack")

        assert (tmp_path / "button_insights.db").is_file()


class TestReliability:
    async def test_a_save_while_postgresql_is_down_fails_and_succeeds_after_restart(
        self,
        postgres_server: Any,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        url = postgres_server.create_database()
        async with SQLInsightStore(url) as store:
            await store.save_analysis(make_record("analysis-1", saved_at=at(6)))

            postgres_server.stop()
            try:
                with pytest.raises(sa.exc.OperationalError):
                    await store.save_analysis(make_record("analysis-1", saved_at=at(7)))
            finally:
                postgres_server.start()
            is_new = await store.save_analysis(
                make_record("analysis-1", saved_at=at(7))
            )

        assert is_new is False
        assert count_rows(url, "analyses") == 1
