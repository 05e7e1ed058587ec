"""JSONFileInsightStore: one JSON file, rewritten atomically."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from ga4_button_workflows.models import AnalysisRecord, ButtonInsights
from ga4_button_workflows.ports import InsightStore
from ga4_button_workflows.stores import JSONFileInsightStore

ORIGINAL_KEYS = {
    "timestamp",
    "best_performing_button",
    "worst_performing_button",
    "most_engaging_variant",
    "recommendations",
    "performance_summary",
}
UTC = datetime.timezone.utc


# Small blocking helpers: the files are tiny and local.
def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def set_mode(path: Path, mode: int) -> None:
    path.chmod(mode)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def folder_listing(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.parent.iterdir())


def at(hour: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 8, hour, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "button_insights.json"


@pytest.fixture
def store(path: Path) -> JSONFileInsightStore:
    return JSONFileInsightStore(path)


class TestSaves:
    async def test_the_same_analysis_saved_twice_is_kept_once(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        retried = make_record("analysis-1", saved_at=at(7))

        assert await store.save_analysis(make_record("analysis-1", saved_at=at(6)))
        assert await store.save_analysis(retried) is False

        content = read_json(path)
        assert list(content["analyses"]) == ["analysis-1"]
        assert await store.get_analysis("analysis-1") == retried

    async def test_the_latest_document_stays_at_the_top_level_like_the_original_file(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        await store.save_analysis(make_record("new", saved_at=at(8)))
        await store.save_analysis(make_record("old", saved_at=at(6)))

        content = read_json(path)

        assert set(content) >= ORIGINAL_KEYS
        assert content["best_performing_button"] == "cta on colors"
        assert content["performance_summary"]["total_buttons_analyzed"] == 2
        assert content["latest_analysis_id"] == "new"
        assert content["store_version"] == 1
        assert set(content["analyses"]) == {"new", "old"}
        assert content["deliveries"] == []

    async def test_concurrent_saves_lose_nothing(
        self, store: JSONFileInsightStore, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        records = [make_record(f"analysis-{n}") for n in range(10)]

        await asyncio.gather(*map(store.save_analysis, records))

        for record in records:
            assert await store.get_analysis(record.analysis_id) == record

    async def test_max_analyses_drops_the_oldest_saves_and_their_deliveries(
        self, path: Path, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        store = JSONFileInsightStore(path, max_analyses=2)
        await store.save_analysis(make_record("first", saved_at=at(6)))
        await store.record_delivery("first", "slack")
        await store.save_analysis(make_record("second", saved_at=at(7)))
        await store.save_analysis(make_record("third", saved_at=at(8)))

        assert await store.get_analysis("first") is None
        assert await store.get_analysis("third") is not None
        assert await store.has_delivery("first", "slack") is False


class TestQueries:
    async def test_latest_analysis_is_the_most_recently_saved_of_the_property(
        self, store: JSONFileInsightStore, make_record: Callable[..., AnalysisRecord]
    ) -> None:
        await store.save_analysis(make_record("old", saved_at=at(6)))
        await store.save_analysis(make_record("new", saved_at=at(8)))
        await store.save_analysis(
            make_record("other", property_id="987654321", saved_at=at(9))
        )

        latest = await store.latest_analysis("123456789")
        latest_overall = await store.latest_analysis()

        assert latest is not None
        assert latest.analysis_id == "new"
        assert latest_overall is not None
        assert latest_overall.analysis_id == "other"
        assert await store.latest_analysis("555") is None

    async def test_an_empty_or_missing_file_has_no_analyses(
        self, store: JSONFileInsightStore, path: Path
    ) -> None:
        assert await store.latest_analysis() is None
        assert await store.get_analysis("analysis-1") is None
        assert folder_listing(path) == []

    async def test_deliveries_are_remembered_once_per_analysis_and_channel(
        self, store: JSONFileInsightStore, path: Path
    ) -> None:
        await store.record_delivery("analysis-1", "slack")
        await store.record_delivery("analysis-1", "slack")

        assert await store.has_delivery("analysis-1", "slack") is True
        assert await store.has_delivery("analysis-1", "email") is False
        content = read_json(path)
        assert [entry["channel"] for entry in content["deliveries"]] == ["slack"]

    def test_the_store_satisfies_the_protocol(
        self, store: JSONFileInsightStore
    ) -> None:
        assert isinstance(store, InsightStore)


class TestHostileText:
    async def test_a_hostile_button_name_is_kept_intact_and_round_trips(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
        hostile_button: str,
    ) -> None:
        record = make_record("analysis-1")

        await store.save_analysis(record)

        content = read_json(path)
        saved = content["analyses"]["analysis-1"]["insights"]["buttons"][1]
        assert saved["button"] == hostile_button
        assert content["worst_performing_button"] == f"{hostile_button} on original"
        assert await store.get_analysis("analysis-1") == record


class TestFileSafety:
    async def test_a_write_leaves_no_temporary_file_and_keeps_the_file_mode(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        await store.save_analysis(make_record("analysis-1"))
        set_mode(path, 0o640)

        await store.record_delivery("analysis-1", "slack")

        assert folder_listing(path) == [path.name]
        assert mode_of(path) == 0o640

    async def test_a_failed_write_leaves_the_previous_file_untouched(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
        make_insights: Callable[..., ButtonInsights],
    ) -> None:
        await store.save_analysis(make_record("analysis-1"))
        before = read_bytes(path)
        not_finite = attrs.evolve(
            make_insights(),
            performance_summary={"average_engagement_score": float("nan")},
        )

        with pytest.raises(ValueError, match="Out of range float"):
            await store.save_analysis(make_record("analysis-2", insights=not_finite))

        assert read_bytes(path) == before
        assert folder_listing(path) == [path.name]

    async def test_a_file_written_by_the_original_application_is_read_and_upgraded(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
    ) -> None:
        original = {
            "timestamp": "2024-01-01T00:00:00",
            "best_performing_button": "cta_colors",
            "worst_performing_button": "nav_spacing",
            "most_engaging_variant": "colors",
            "recommendations": [],
            "performance_summary": {"total_buttons_analyzed": 5},
        }
        write_text(path, json.dumps(original))

        assert await store.latest_analysis() is None
        await store.save_analysis(make_record("analysis-1"))

        content = read_json(path)
        assert content["best_performing_button"] == "cta on colors"
        assert list(content["analyses"]) == ["analysis-1"]

    @pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
    async def test_a_file_that_is_not_a_json_object_is_refused_and_kept(
        self,
        store: JSONFileInsightStore,
        path: Path,
        make_record: Callable[..., AnalysisRecord],
        text: str,
    ) -> None:
        write_text(path, text)

        with pytest.raises(ValueError, match="move it aside"):
            await store.save_analysis(make_record("analysis-1"))

        assert read_bytes(path).decode() == text

    def test_the_default_file_is_button_insights_json(self) -> None:
        assert JSONFileInsightStore().path == Path("button_insights.json")
        assert os.fspath(JSONFileInsightStore("x.json").path) == "x.json"
