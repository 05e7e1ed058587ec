"""Run every benchmark and print one table.

Run with ``nox -s bench`` or ``python benchmarks/run.py``.

Benchmarks report; they never pass or fail on absolute times. Where two ways
are compared they run in the same process run, side by side, and the ratio is
printed. ``--quick`` runs smaller sizes (for a smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

Row = tuple[str, str, str]
"""A table row: measurement, figure, target or note."""


def _child(code: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter and return the JSON it prints last."""
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- 3. the analysis core ---------------------------------------------------------

CORE_CHILD = """
import json, resource, time
from core_rows import fold_rows
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.insights import generate_insights
import datetime
started = time.perf_counter()
report = fold_rows({rows})
folded = time.perf_counter()
metrics = compute_metrics(report)
now = datetime.datetime.now(datetime.timezone.utc)
insights = generate_insights(metrics, generated_at=now)
finished = time.perf_counter()
print(json.dumps({{
    "fold_s": folded - started,
    "analyse_s": finished - folded,
    "total_s": finished - started,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def bench_core(sizes: list[int]) -> list[Row]:
    rows: list[Row] = []
    for size in sizes:
        figures = _child(CORE_CHILD.format(rows=size))
        rate = size / figures["total_s"]
        rows.append(
            (
                f"analysis core, {size:,} GA4 rows",
                f"{figures['total_s']:.2f} s ({rate:,.0f} rows/s; fold "
                f"{figures['fold_s']:.2f} s, metrics+insights "
                f"{figures['analyse_s']:.2f} s), peak RSS "
                f"{figures['peak_rss_mb']:.0f} MB",
                "1M rows under 1 GB" if size >= 1_000_000 else "",
            )
        )
    return rows


# --- 4. Temporal overhead and 5. history growth -----------------------------------


async def _run_workflow(client: object, rows: int) -> tuple[float, int, int]:
    from core_rows import RowsSource
    from temporalio.api.enums.v1 import EventType
    from temporalio.worker import Worker

    from ga4_button_workflows import AnalysisRequest, ButtonAnalyticsPlugin
    from ga4_button_workflows.stores.memory import MemoryInsightStore
    from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    plugin = ButtonAnalyticsPlugin(source=RowsSource(rows), store=MemoryInsightStore())
    workflow_id = f"bench-{rows}-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, plugins=[plugin]):  # type: ignore[arg-type]
        started = time.perf_counter()
        await client.execute_workflow(  # type: ignore[attr-defined]
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=28),
            id=workflow_id,
            task_queue=task_queue,
        )
        elapsed = time.perf_counter() - started
    history = await client.get_workflow_handle(workflow_id).fetch_history()  # type: ignore[attr-defined]
    largest = 0
    for event in history.events:
        for name in (
            "workflow_execution_started_event_attributes",
            "activity_task_scheduled_event_attributes",
            "activity_task_completed_event_attributes",
            "workflow_execution_completed_event_attributes",
        ):
            if event.HasField(name):
                attributes = getattr(event, name)
                for field in ("input", "result"):
                    if hasattr(attributes, field):
                        size = sum(
                            p.ByteSize() for p in getattr(attributes, field).payloads
                        )
                        largest = max(largest, size)
    non_task = sum(
        1
        for event in history.events
        if "WORKFLOW_TASK" not in EventType.Name(event.event_type)
    )
    return elapsed, largest, non_task


async def _in_process(rows: int) -> float:
    import datetime

    from core_rows import RowsSource

    from ga4_button_workflows.insights import generate_insights
    from ga4_button_workflows.metrics import compute_metrics
    from ga4_button_workflows.models import AnalysisRecord, FetchRequest, Period
    from ga4_button_workflows.ports import FetchContext
    from ga4_button_workflows.stores.memory import MemoryInsightStore

    today = datetime.datetime.now(datetime.timezone.utc).date()
    period = Period(
        today - datetime.timedelta(days=28), today - datetime.timedelta(days=1)
    )
    started = time.perf_counter()
    report = await RowsSource(rows).fetch_report(
        FetchRequest(property_id="42", period=period), FetchContext()
    )
    insights = generate_insights(
        compute_metrics(report),
        generated_at=datetime.datetime.now(datetime.timezone.utc),
    )
    await MemoryInsightStore().save_analysis(
        AnalysisRecord(
            analysis_id="x",
            workflow_id="x",
            run_id="x",
            property_id="42",
            period=period,
            saved_at=insights.timestamp,
            insights=insights,
        )
    )
    return time.perf_counter() - started


async def bench_temporal(history_sizes: list[int], overhead_rows: int) -> list[Row]:
    from temporalio.testing import WorkflowEnvironment

    from ga4_button_workflows import data_converter
    from ga4_button_workflows.devserver import find_dev_server

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_dev_server()),
        data_converter=data_converter,
        dev_server_log_level="error",
    )
    rows: list[Row] = []
    try:
        await _run_workflow(env.client, 1_000)  # warm up the server and the worker
        in_process = min([await _in_process(overhead_rows) for _ in range(3)])
        on_temporal = min(
            [(await _run_workflow(env.client, overhead_rows))[0] for _ in range(3)]
        )
        rows.append(
            (
                f"Temporal overhead, {overhead_rows:,} rows",
                f"workflow {on_temporal:.2f} s vs in-process {in_process:.2f} s: "
                f"+{on_temporal - in_process:.2f} s ({on_temporal / in_process:.2f}x)",
                "under 0.5 s of difference",
            )
        )
        for size in history_sizes:
            _, largest, events = await _run_workflow(env.client, size)
            rows.append(
                (
                    f"history, {size:,} rows",
                    f"largest payload {largest / 1024:.1f} KB, {events} events "
                    "(workflow-task events left out)",
                    "flat; every payload under 256 KB",
                )
            )
    finally:
        await env.shutdown()
    return rows


# --- 6. demo wall time ---------------------------------------------------------------


def bench_demo(runs: int) -> list[Row]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ga4_button_workflows.cli", "demo", "--json"],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return [
        (
            "demo wall time, cold start",
            f"best {min(times):.1f} s, worst {max(times):.1f} s over {runs} runs "
            "(server start included)",
            "under 15 s",
        )
    ]


# --- the table ------------------------------------------------------------------------


def _extra_benchmarks(quick: bool) -> list[Callable[[], list[Row]]]:
    """Benchmarks that need the GA4 extra; skipped with a note when it is absent."""
    try:
        import bench_ga4_parsing as bench_ga4
    except ImportError as error:
        note = f"skipped: {error}"
        return [lambda: [("GA4 parsing and paginated fetch", note, "")]]
    return [lambda: bench_ga4.run(quick=quick)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    quick = args.quick

    core_sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    history_sizes = [1_000, 100_000] if quick else [1_000, 100_000, 1_000_000]
    started = time.perf_counter()
    table: list[Row] = []
    for extra in _extra_benchmarks(quick):
        table.extend(extra())
    table.extend(bench_core(core_sizes))
    table.extend(asyncio.run(bench_temporal(history_sizes, 50_000)))
    table.extend(bench_demo(2 if quick else 3))

    width = max(len(row[0]) for row in table)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(f"{'measurement'.ljust(width)} | figure | target")
    print(f"{'-' * width}-|--------|-------")
    for name, figure, target in table:
        print(f"{name.ljust(width)} | {figure} | {target}")
    print(f"Total benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
