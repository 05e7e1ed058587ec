"""PostgreSQL going away while an analysis is being saved, and coming back.

The save activity fails while the server is down, is retried by Temporal, and
saves once when the server is back: one analysis row, nothing lost.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisRecord,
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
)
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.sql import SQLInsightStore


class PostgresServer(Protocol):
    """What the test needs of ``conftest.PostgresServer``."""

    def create_database(self) -> str: ...
    def stop(self) -> None: ...
    def start(self) -> None: ...


class SaveWatchingStore(SQLInsightStore):
    """The real store; each save first waits for the test, then is counted."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.save_reached = asyncio.Event()
        self.may_save = asyncio.Event()
        self.failed_saves: list[BaseException] = []
        self.save_failed = asyncio.Event()

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        self.save_reached.set()
        await self.may_save.wait()
        try:
            return await super().save_analysis(record)
        except Exception as error:
            self.failed_saves.append(error)
            self.save_failed.set()
            raise


def analyses_in(url: str) -> list[tuple[str, int]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT analysis_id, save_count FROM analyses")
            )
            return [(row.analysis_id, row.save_count) for row in rows]
    finally:
        engine.dispose()


async def test_postgresql_down_during_the_save_then_up_saves_once(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    store = SaveWatchingStore(url)
    plugin = ButtonAnalyticsPlugin(source=SampleDataSource(), store=store)
    workflow_id = f"wf-pg-outage-{uuid.uuid4().hex}"
    server_down = False
    try:
        async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
            handle = await dev_env.client.start_workflow(
                ButtonAnalyticsWorkflow.run,
                AnalysisRequest(property_id="42", days_back=3, notify=False),
                id=workflow_id,
                task_queue=task_queue,
            )
            # The fetch has read the store already: its connections are pooled.
            await asyncio.wait_for(store.save_reached.wait(), timeout=30)
            await asyncio.to_thread(postgres_server.stop)
            server_down = True
            store.may_save.set()
            await asyncio.wait_for(store.save_failed.wait(), timeout=30)
            await asyncio.to_thread(postgres_server.start)
            server_down = False
            outcome = await asyncio.wait_for(handle.result(), timeout=60)
        saved = await store.get_analysis(workflow_id)
    finally:
        if server_down:
            await asyncio.to_thread(postgres_server.start)
        await store.close()

    assert store.failed_saves
    assert all(isinstance(e, sa.exc.OperationalError) for e in store.failed_saves)
    assert outcome.saved.status is BranchStatus.DONE
    assert analyses_in(url) == [(workflow_id, 1)]
    assert saved is not None
    assert saved.insights == outcome.insights
