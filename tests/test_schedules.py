"""Daily schedules on the dev server (the time-skipping server has none)."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import random
import subprocess
import sys
import zoneinfo

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import AnalysisOutcome, ButtonAnalyticsPlugin
from ga4_button_workflows.schedules import (
    backfill_daily_schedule,
    daily_schedule_id,
    delete_daily_schedule,
    describe_daily_schedule,
    ensure_daily_schedule,
    list_daily_schedules,
    pause_daily_schedule,
    resume_daily_schedule,
)
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore


def _property_id() -> str:
    return str(random.randrange(10**8, 10**9))


async def test_ensure_twice_leaves_one_schedule_at_the_second_hour(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    property_id = _property_id()

    await ensure_daily_schedule(
        client, property_id, hour=6, time_zone="Europe/Berlin", task_queue=task_queue
    )
    await ensure_daily_schedule(
        client,
        property_id,
        hour=9,
        minute=30,
        time_zone="Europe/Berlin",
        task_queue=task_queue,
    )

    ids = await list_daily_schedules(client)
    assert ids.count(daily_schedule_id(property_id)) == 1
    spec = (await describe_daily_schedule(client, property_id)).schedule.spec
    assert len(spec.calendars) == 1
    assert spec.calendars[0].hour[0].start == 9
    assert spec.calendars[0].minute[0].start == 30
    assert spec.time_zone_name == "Europe/Berlin"
    await delete_daily_schedule(client, property_id)


async def test_pause_and_resume_survive_an_update(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    property_id = _property_id()
    await ensure_daily_schedule(
        client, property_id, hour=6, time_zone="UTC", task_queue=task_queue
    )

    await pause_daily_schedule(client, property_id, note="holiday")
    await ensure_daily_schedule(
        client, property_id, hour=7, time_zone="UTC", task_queue=task_queue
    )
    paused = (await describe_daily_schedule(client, property_id)).schedule.state
    await resume_daily_schedule(client, property_id)
    resumed = (await describe_daily_schedule(client, property_id)).schedule.state

    assert paused.paused
    assert not resumed.paused
    await delete_daily_schedule(client, property_id)


async def _completed_runs(
    client: Client, schedule_id: str, expected: int
) -> list[AnalysisOutcome]:
    query = f'TemporalScheduledById = "{schedule_id}"'
    for _ in range(150):
        executions = [execution async for execution in client.list_workflows(query)]
        done = [
            execution
            for execution in executions
            if execution.status == WorkflowExecutionStatus.COMPLETED
        ]
        if len(done) >= expected:
            return [
                await client.get_workflow_handle(
                    execution.id, run_id=execution.run_id, result_type=AnalysisOutcome
                ).result()
                for execution in done
            ]
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {expected} runs of {schedule_id} completed")


async def test_backfill_of_three_days_analyses_exactly_those_days(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    property_id = _property_id()
    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(source=SampleDataSource(), store=store)
    await ensure_daily_schedule(
        client,
        property_id,
        hour=6,
        time_zone="America/New_York",
        days_back=1,
        task_queue=task_queue,
    )
    await pause_daily_schedule(client, property_id)  # only the backfill may run

    async with Worker(client, task_queue=task_queue, plugins=[plugin]):
        days = await backfill_daily_schedule(
            client,
            property_id,
            first_day=datetime.date(2026, 3, 7),
            last_day=datetime.date(2026, 3, 9),
        )
        outcomes = await _completed_runs(client, daily_schedule_id(property_id), 3)

    analysed = sorted((o.period.start, o.period.end) for o in outcomes)
    assert analysed == [(day, day) for day in days]
    assert days == [
        datetime.date(2026, 3, 7),
        datetime.date(2026, 3, 8),
        datetime.date(2026, 3, 9),
    ]
    assert len(store.analyses) == 3
    # One run at a time: each starts after the one before has closed.
    runs = sorted(
        [
            execution
            async for execution in client.list_workflows(
                f'TemporalScheduledById = "{daily_schedule_id(property_id)}"'
            )
        ],
        key=lambda execution: execution.start_time,
    )
    assert len(runs) == 3
    for earlier, later in itertools.pairwise(runs):
        assert earlier.close_time is not None
        assert later.start_time >= earlier.close_time
    # The command line lists the runs in the schedule's time zone, with status.
    described = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "ga4_button_workflows.cli",
            "schedule",
            "describe",
            "--address",
            client.service_client.config.target_host,
            "--property-id",
            property_id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert described.returncode == 0, described.stderr
    assert "Runs at:   06:00 America/New_York" in described.stdout
    assert "Analyses:  the day before each run" in described.stdout
    assert "Paused:    yes" in described.stdout
    assert "Next run:" not in described.stdout  # paused: nothing is coming
    recent = [
        line for line in described.stdout.splitlines() if line.startswith("Recent:")
    ]
    assert sorted(line.split()[1:4] for line in recent) == [
        ["2026-03-08", "06:00", "completed"],
        ["2026-03-09", "06:00", "completed"],
        ["2026-03-10", "06:00", "completed"],
    ]
    await delete_daily_schedule(client, property_id)


async def test_a_backfill_reaching_today_or_later_is_refused(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    property_id = _property_id()
    await ensure_daily_schedule(
        client,
        property_id,
        hour=6,
        time_zone="Pacific/Kiritimati",
        task_queue=task_queue,
    )
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Pacific/Kiritimati")).date()
    try:
        for last_day in (today, today + datetime.timedelta(days=30)):
            with pytest.raises(ValueError, match=f"last_day {last_day} is not over"):
                await backfill_daily_schedule(
                    client,
                    property_id,
                    first_day=today - datetime.timedelta(days=2),
                    last_day=last_day,
                )
        description = await describe_daily_schedule(client, property_id)
        assert description.info.num_actions == 0
    finally:
        await delete_daily_schedule(client, property_id)
