"""Every code sample in the docs runs, and the Quickstart shows what the demo prints.

Samples are the ```` ```python ```` fences of ``docs/**/*.md`` and ``README.md``.
The samples of one page run in order, each in a fresh namespace, all in one
temporary working directory (so files a sample writes stay out of the
repository and a later sample of the page can read them). Each runs in a
thread of its own, so a sample may call ``asyncio.run`` beside pytest-asyncio's
loop; a sample with top-level ``await`` runs as a coroutine.

An HTML comment on the line before a fence says how to run it:

``<!-- test: dev_server -->``
    The sample needs a Temporal server. Every ``"localhost:7233"`` in it is
    replaced by the address of the session's dev server (``dev_env``), so
    samples show the address a reader would use. A sample that contains
    ``"localhost:7233"`` is treated so without the comment (README.md has none).
``<!-- test: ga4_emulator -->``
    The sample talks to GA4. It runs with a ``GA4Emulator`` serving
    property ``123456789`` with two weeks of synthetic landing-page traffic up
    to 2024-05-14, and every ``BetaAnalyticsDataClient()`` in it is replaced by
    a REST client of that emulator.
``<!-- test: pytest -->``
    The sample is a test module: it is written to a file and run with pytest
    in a subprocess, as a reader would run it.
``<!-- not-tested: reason -->``
    The sample is deliberately partial. Keep these rare.

Fences of other languages are not run, except the Quickstart's demo output
(the ```` ```text ```` fence after ``<!-- demo-output -->``), which is compared
with a real ``ga4-buttons demo`` run on every line that does not carry a date,
an ID, a port, a version or a timing.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import datetime
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
SAMPLE_TIMEOUT_S = 120

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>test|not-tested)\s*:\s*(?P<value>.*?)\s*-->\s*$")
_KINDS = {"dev_server", "ga4_emulator", "pytest"}
_DEV_SERVER_ADDRESS = '"localhost:7233"'
_GA4_CLIENT = "BetaAnalyticsDataClient()"

EMULATOR_TODAY = datetime.date(2024, 5, 15)
"""The emulator's "today" in ga4_emulator samples; the traffic ends the day before."""


@attrs.frozen
class Fence:
    """One fenced block of a page."""

    page: Path
    line: int
    language: str
    code: str
    marker: tuple[str, str] | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def fences(page: Path) -> Iterator[Fence]:
    """Yield the page's fenced blocks with the marker comment before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        language = opening["info"].strip().split(" ")[0].strip("{}.")
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = "\n".join(line.removeprefix(indent) for line in lines[index + 1 : end])
        yield Fence(page, index + 1, language, body + "\n", _marker(lines, index))
        index = end + 1


def _marker(lines: list[str], fence_index: int) -> tuple[str, str] | None:
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    match = _MARKER.match(lines[previous]) if previous >= 0 else None
    return None if match is None else (match["kind"], match["value"])


def python_samples(page: Path) -> list[Fence]:
    return [fence for fence in fences(page) if fence.language in ("python", "py")]


def sample_kind(sample: Fence) -> str:
    """``exec``, ``dev_server``, ``ga4_emulator``, ``pytest`` or ``skip``."""
    if sample.marker is not None:
        kind, value = sample.marker
        if kind == "not-tested":
            assert value, f"{sample.where}: say why the sample is not tested"
            return "skip"
        assert value in _KINDS, f"{sample.where}: unknown test kind {value!r}"
        return value
    if _DEV_SERVER_ADDRESS in sample.code:
        return "dev_server"
    return "exec"


# --- running samples --------------------------------------------------------------


def _run_in_thread(function: Callable[[], None]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(function).result(timeout=SAMPLE_TIMEOUT_S)


def _exec(sample: Fence, code: str, namespace: dict[str, Any]) -> None:
    """Run ``code`` as a module, or as a coroutine when it awaits at top level."""
    compiled = compile(
        code, sample.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    namespace.setdefault("__name__", "__main__")
    if compiled.co_flags & inspect.CO_COROUTINE:
        coroutine = eval(compiled, namespace)  # noqa: S307 - our own docs
        _run_in_thread(lambda: asyncio.run(coroutine))
    else:
        _run_in_thread(lambda: exec(compiled, namespace))  # noqa: S102 - our own docs


def _emulator_events() -> list[Any]:
    from ga4_button_workflows.testing import EmulatedEvent
    from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

    return [
        EmulatedEvent(
            date=event.date,
            user_id=event.user_id,
            event_name=event.event_name,
            params=dict(event.params),
        )
        for event in generate_landing_page_traffic(
            start=EMULATOR_TODAY - datetime.timedelta(days=14),
            days=14,
            visitors_per_variant_per_day=40,
        )
    ]


def _run_sample(
    sample: Fence, kind: str, dev_env: WorkflowEnvironment, workdir: Path
) -> None:
    code = sample.code
    namespace: dict[str, Any] = {}
    if kind == "dev_server":
        address = f'"{dev_env.client.service_client.config.target_host}"'
        _exec(sample, code.replace(_DEV_SERVER_ADDRESS, address), namespace)
    elif kind == "ga4_emulator":
        from ga4_button_workflows.testing import GA4Emulator

        assert _GA4_CLIENT in code, f"{sample.where}: no {_GA4_CLIENT} to replace"
        with GA4Emulator(
            _emulator_events(),
            custom_dimensions=["button_type", "page_variant"],
            custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
            today=EMULATOR_TODAY,
            time_zone="UTC",
        ) as emulator:
            namespace["_docs_emulator"] = emulator
            code = code.replace(_GA4_CLIENT, '_docs_emulator.client("rest")')
            _exec(sample, code, namespace)
    elif kind == "pytest":
        module = workdir / f"test_sample_line_{sample.line}.py"
        module.write_text(code, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-W", "error", str(module)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"{sample.where}:\n{result.stdout}{result.stderr}"
    else:
        _exec(sample, code, namespace)


PAGES_WITH_SAMPLES = [page for page in PAGES if python_samples(page)]


@pytest.mark.parametrize(
    "page", PAGES_WITH_SAMPLES, ids=lambda page: str(page.relative_to(ROOT))
)
async def test_every_python_sample_of_the_page_runs(
    page: Path,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for sample in python_samples(page):
        kind = sample_kind(sample)
        if kind == "skip":
            continue
        await asyncio.to_thread(_run_sample, sample, kind, dev_env, tmp_path)


def test_samples_are_rarely_left_untested() -> None:
    samples = [sample for page in PAGES for sample in python_samples(page)]
    skipped = [sample.where for sample in samples if sample_kind(sample) == "skip"]
    assert len(samples) >= 20
    assert len(skipped) <= 2, skipped


def test_markers_stand_before_python_fences_only() -> None:
    for page in PAGES:
        for fence in fences(page):
            if fence.marker is not None and fence.marker[1] != "":
                assert fence.language in ("python", "py"), fence.where


# --- the Quickstart's demo output ---------------------------------------------------

_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"\[\s*\d+\.\d s\]"), "[<time>]"),
    (re.compile(r"Finished in \d+\.\d s\."), "Finished in <time>."),
    (re.compile(r"(Workflow ID: button-analysis-demo-)\w+"), r"\1<id>"),
    (re.compile(r"(Run ID: )\S+"), r"\1<id>"),
]
_SERVER_BANNER = re.compile(r"^Temporal (CLI|Server|Persistence|Metrics|UI)\b")


def _comparable(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if _SERVER_BANNER.match(line):
            continue  # the dev server's own banner: versions and ports
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _shown_demo_output() -> str:
    page = DOCS / "quickstart.md"
    text = page.read_text(encoding="utf-8")
    marker = text.index("<!-- demo-output -->")
    shown = next(
        fence for fence in fences(page) if text.count("\n", 0, marker) < fence.line
    )
    assert shown.language == "text"
    return shown.code


@pytest.mark.slow
def test_quickstart_shows_what_the_demo_prints(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ga4_button_workflows.cli", "demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stdout
    assert _comparable(_shown_demo_output()) == _comparable(result.stdout)


# --- the Quickstart's saved-report walkthrough -----------------------------------------


def test_saved_report_example_is_a_runreport_response() -> None:
    document = json.loads((DOCS / "examples" / "landing-page-report.json").read_text())
    dimensions = [header["name"] for header in document["dimensionHeaders"]]
    metrics = [header["name"] for header in document["metricHeaders"]]
    assert dimensions == [
        "eventName",
        "customEvent:button_type",
        "customEvent:page_variant",
    ]
    assert metrics == ["eventCount", "totalUsers", "customEvent:hover_duration"]
    assert int(document["rowCount"]) == len(document["rows"])


@pytest.mark.skipif(
    importlib.util.find_spec("ga4_button_workflows.sources.report_file") is None,
    reason="ga4_button_workflows.sources.report_file is not written yet",
)
def test_saved_report_walkthrough_prints_the_insights_json(tmp_path: Path) -> None:
    report = DOCS / "examples" / "landing-page-report.json"
    result = subprocess.run(
        [sys.executable, "-m", "ga4_button_workflows.cli", "analyze",
         "--report-file", str(report), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["best_performing_button"]
