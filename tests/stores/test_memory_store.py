"""MemoryInsightStore: the same protocol, in dictionaries."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from ga4_button_workflows.models import AnalysisRecord
from ga4_button_workflows.ports import InsightStore
from ga4_button_workflows.stores import MemoryInsightStore

UTC = datetime.timezone.utc


def at(hour: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 8, hour, 0, tzinfo=UTC)


async def test_a_retried_save_replaces_the_analysis(
    make_record: Callable[..., AnalysisRecord],
) -> None:
    store = MemoryInsightStore()
    retried = make_record("analysis-1", saved_at=at(7))

    assert await store.save_analysis(make_record("analysis-1", saved_at=at(6)))
    assert await store.save_analysis(retried) is False

    assert store.analyses == [retried]
    assert store.save_calls == 2


async def test_latest_analysis_is_per_property(
    make_record: Callable[..., AnalysisRecord],
) -> None:
    store = MemoryInsightStore()
    await store.save_analysis(make_record("mine", saved_at=at(6)))
    await store.save_analysis(make_record("theirs", property_id="987", saved_at=at(7)))

    mine = await store.latest_analysis("123456789")

    assert mine is not None
    assert mine.analysis_id == "mine"
    assert await store.get_analysis("theirs") is not None


async def test_deliveries_are_remembered_per_analysis_and_channel() -> None:
    store = MemoryInsightStore()

    await store.record_delivery("analysis-1", "slack")

    assert await store.has_delivery("analysis-1", "slack")
    assert not await store.has_delivery("analysis-1", "email")
    assert isinstance(store, InsightStore)
