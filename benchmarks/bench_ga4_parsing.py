"""GA4 page parsing and a 1,000,000-row paged fetch.

Run with ``python benchmarks/bench_ga4_parsing.py [--quick]``; ``run()`` feeds
``benchmarks/run.py``'s table.

1. Parsing, side by side in one process on the same 250,000-row
   ``RunReportResponse`` (the proto-plus object the client returns): the
   library's path (raw protobuf rows folded into the report) against plain
   proto-plus iteration that only reads every value, and against proto-plus
   iteration feeding the same ``ReportBuilder``. Best of several alternating
   rounds; the ratio is printed.
2. A 1,000,000-row report fetched through ``GA4DataSource`` (pagination, four
   pages in flight, folding in a worker thread) from an in-process client that
   serves the pages GA4 would: each run in a fresh interpreter, once for time
   and peak RSS, once under ``tracemalloc`` for the peak of Python objects
   (protobuf's own arenas are outside ``tracemalloc``; the RSS counts them,
   and the pre-encoded pages too).
   The emulator serves the same pages, but spends about two CPU seconds per
   100,000 rows building them; the in-process client keeps the measurement on
   the library.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.analytics.data_v1beta.types import RunReportResponse

from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.models import Period
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_rows import ReportFolder

PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 28))
VARIANTS = ("original", "colors", "sizes", "spacing", "typography")
EVENTS = (
    "button_hover_start",
    "button_hover_end",
    "cta_click",
    "button_interaction_success",
)
DIMENSIONS = ("eventName", "customEvent:button_type", "customEvent:page_variant")
METRICS = (("eventCount", 1), ("totalUsers", 1), ("customEvent:hover_duration", 5))
ROUNDS = 2

Row = tuple[str, str, str]


# --- building pages fast: protobuf wire bytes, written directly -------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


_CELLS: dict[tuple[int, int, str], bytes] = {}


def _cell(row_field: int, value_field: int, text: str) -> bytes:
    key = (row_field, value_field, text)
    cell = _CELLS.get(key)
    if cell is None:
        cell = _field(row_field, _field(value_field, text.encode()))
        if len(_CELLS) < 100_000:
            _CELLS[key] = cell
    return cell


def synthetic_row(index: int) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """Row ``index`` of the report: unique event x button x variant, 20 per button."""
    button, rest = divmod(index, len(EVENTS) * len(VARIANTS))
    variant, event = divmod(rest, len(EVENTS))
    events = index % 397 + 1
    return (
        (EVENTS[event], f"button-{button:06d}", VARIANTS[variant]),
        (str(events), str(max(1, events * 3 // 4)), str(events * 900)),
    )


def page_bytes(offset: int, limit: int, row_count: int) -> bytes:
    """A serialized RunReportResponse page, as GA4 answers ``offset``/``limit``."""
    head = RunReportResponse.pb()()
    for name in DIMENSIONS:
        head.dimension_headers.add(name=name)
    for name, metric_type in METRICS:
        head.metric_headers.add(name=name, type_=metric_type)
    head.row_count = row_count
    head.metadata.time_zone = "UTC"
    head.metadata.currency_code = "USD"
    quota = head.property_quota
    quota.tokens_per_hour.consumed = 10
    quota.tokens_per_hour.remaining = 39_000
    quota.tokens_per_day.remaining = 190_000
    quota.tokens_per_project_per_hour.remaining = 13_000
    parts = [head.SerializeToString()]
    for index in range(offset, min(offset + limit, row_count)):
        dimensions, metrics = synthetic_row(index)
        body = b"".join(_cell(1, 1, text) for text in dimensions) + b"".join(
            _cell(2, 4, text) for text in metrics
        )
        parts.append(_field(3, body))
    return b"".join(parts)


def page(offset: int, limit: int, row_count: int) -> Any:
    """The proto-plus RunReportResponse the client would return."""
    return RunReportResponse.deserialize(page_bytes(offset, limit, row_count))


# --- 1. parsing, side by side ------------------------------------------------------


def _builder() -> ReportBuilder:
    return ReportBuilder(
        ORIGINAL_LANDING_PAGE, property_id="1", period=PERIOD, max_buttons=25
    )


def library_path(response: Any) -> None:
    ReportFolder(_builder(), ORIGINAL_LANDING_PAGE).fold_pb(response)


def proto_plus_iteration(response: Any) -> None:
    for row in response.rows:
        [value.value for value in row.dimension_values]
        [value.value for value in row.metric_values]


def proto_plus_folding(response: Any) -> None:
    builder = _builder()
    for row in response.rows:
        event, button, variant = (value.value for value in row.dimension_values)
        events, users, duration = (value.value for value in row.metric_values)
        builder.add_row(
            event_name=event,
            button=button,
            variant=variant,
            event_count=int(events),
            users=int(users),
            duration_ms=float(duration),
        )


def bench_parsing(rows: int) -> dict[str, float]:
    response = page(0, rows, rows)
    ways: dict[str, Callable[[Any], None]] = {
        "library": library_path,
        "proto_plus_iteration": proto_plus_iteration,
        "proto_plus_folding": proto_plus_folding,
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(ROUNDS):
        for name, way in ways.items():
            started = time.perf_counter()
            way(response)
            best[name] = min(best[name], time.perf_counter() - started)
    return {f"{name}_rows_per_s": rows / seconds for name, seconds in best.items()}


# --- 2. a paged fetch of a large report, in a child interpreter -------------------


class InProcessClient:
    """Serves the synthetic report the way GA4 pages it (offset, limit, rowCount).

    Pages are encoded before the clock starts, so the fetch measures the
    library (and the protobuf decoding every client does), not the fake server.
    """

    def __init__(self, row_count: int, page_size: int, latency_s: float = 0.0) -> None:
        self.row_count = row_count
        self.requests = 0
        self.latency_s = latency_s
        self._pages = {
            (offset, min(page_size, row_count - offset)): page_bytes(
                offset, page_size, row_count
            )
            for offset in range(0, row_count, page_size)
        }

    def run_report(self, *, request: Any, timeout: float | None = None) -> Any:
        self.requests += 1
        if self.latency_s:
            time.sleep(self.latency_s)  # the network and GA4's own work
        limit = request.limit or 10_000
        encoded = self._pages.get((request.offset, limit))
        if encoded is None:
            encoded = page_bytes(request.offset, limit, self.row_count)
        return RunReportResponse.deserialize(encoded)


async def _fetch(
    client: InProcessClient, page_size: int, concurrency: int = 4
) -> dict[str, float]:
    from ga4_button_workflows import data_converter
    from ga4_button_workflows.models import FetchRequest
    from ga4_button_workflows.ports import FetchContext
    from ga4_button_workflows.sources.ga4 import GA4DataSource

    rows = client.row_count
    source = GA4DataSource(
        client=client,  # type: ignore[arg-type]
        page_size=page_size,
        max_concurrent_requests=concurrency,
    )
    started = time.perf_counter()
    report = await source.fetch_report(
        FetchRequest(property_id="1", period=PERIOD), FetchContext()
    )
    elapsed = time.perf_counter() - started
    [payload] = data_converter.payload_converter.to_payloads([report])
    assert report.rows_read == rows, report.rows_read
    return {
        "seconds": elapsed,
        "requests": client.requests,
        "report_bytes": payload.ByteSize(),
        "entries": len(report.counts),
    }


def child(rows: int, page_size: int, traced: bool) -> dict[str, float]:
    import resource
    import tracemalloc

    client = InProcessClient(rows, page_size)
    if traced:
        tracemalloc.start()
    figures = asyncio.run(_fetch(client, page_size))
    if traced:
        figures["python_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def bench_fetch(rows: int, page_size: int) -> dict[str, float]:
    def run_child(traced: bool) -> dict[str, float]:
        completed = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                str(rows),
                str(page_size),
                "traced" if traced else "timed",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    timed = run_child(traced=False)
    traced = run_child(traced=True)
    return {**timed, "python_peak_mb": traced["python_peak_mb"]}


def concurrency_child(rows: int, page_size: int, latency_s: float) -> dict[str, float]:
    client = InProcessClient(rows, page_size, latency_s)
    serial = asyncio.run(_fetch(client, page_size, concurrency=1))["seconds"]
    concurrent = asyncio.run(_fetch(client, page_size, concurrency=4))["seconds"]
    return {"serial_s": serial, "concurrent_s": concurrent}


def bench_concurrency(rows: int, page_size: int, latency_s: float) -> dict[str, float]:
    completed = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--concurrency",
            str(rows),
            str(page_size),
            str(latency_s),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the table ------------------------------------------------------------------------


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    """Rows for ``benchmarks/run.py``: (measurement, figure, target)."""
    parse_rows = 50_000 if quick else 250_000
    fetch_rows = 200_000 if quick else 1_000_000
    parsing = bench_parsing(parse_rows)
    library = parsing["library_rows_per_s"]
    iteration = parsing["proto_plus_iteration_rows_per_s"]
    folding = parsing["proto_plus_folding_rows_per_s"]
    fetched = bench_fetch(fetch_rows, 250_000 if not quick else 100_000)
    paced = bench_concurrency(fetch_rows, 100_000, 0.15)
    return [
        (
            f"GA4 page parsing, {parse_rows:,} rows: library (raw protobuf, folded)",
            f"{library:,.0f} rows/s",
            "",
        ),
        (
            f"GA4 page parsing, {parse_rows:,} rows: proto-plus iteration (read only)",
            f"{iteration:,.0f} rows/s; library {library / iteration:.1f}x faster",
            "10x or better",
        ),
        (
            f"GA4 page parsing, {parse_rows:,} rows: proto-plus iteration, folded",
            f"{folding:,.0f} rows/s; library {library / folding:.1f}x faster",
            "",
        ),
        (
            f"GA4 paged fetch, {fetch_rows:,} rows ({fetched['requests']:.0f} pages)",
            f"{fetched['seconds']:.1f} s ({fetch_rows / fetched['seconds']:,.0f} "
            f"rows/s), peak RSS {fetched['peak_rss_mb']:.0f} MB, Python peak "
            f"{fetched['python_peak_mb']:.0f} MB, report "
            f"{fetched['report_bytes']:,.0f} bytes ({fetched['entries']:.0f} "
            "entries)",
            "peak under 1 GB; report under 256 KB",
        ),
        (
            f"GA4 paged fetch, {fetch_rows:,} rows in 100,000-row pages, 150 ms "
            "latency per page",
            f"4 pages at a time {paced['concurrent_s']:.1f} s vs one at a time "
            f"{paced['serial_s']:.1f} s: ratio "
            f"{paced['concurrent_s'] / paced['serial_s']:.2f}",
            "concurrent at most 0.4 of serial",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.concurrency:
        rows, page_size, latency = args.concurrency
        print(json.dumps(concurrency_child(int(rows), int(page_size), float(latency))))
        return
    if args.child:
        rows, page_size, mode = args.child
        print(json.dumps(child(int(rows), int(page_size), mode == "traced")))
        return
    for name, figure, target in run(quick=args.quick):
        print(f"{name} | {figure} | {target}")


if __name__ == "__main__":
    main()
