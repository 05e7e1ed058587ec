"""Every code sample in the docs runs, and the Quickstart shows what the demo prints.

Samples are the ```` ```python ```` fences of ``docs/**/*.md`` and ``README.md``.
The samples of one page run in order, in one temporary working directory (so
files a sample writes stay out of the repository, and a later sample of the
page can read them). Each sample is written to a file there and runs as a
module of its own, in a thread of its own, the way ``python sample.py`` would
run it: its code first, then the body of a top-level
``if __name__ == "__main__":``. Being a file on ``sys.path`` lets Temporal's
workflow sandbox re-import the workflows a sample defines; the thread lets a
sample call ``asyncio.run`` beside pytest-asyncio's loop. A sample with
top-level ``await`` runs as a coroutine.

An HTML comment on the line before a fence says how to run it:

``<!-- test: dev_server -->``
    The sample needs a Temporal server. Every ``"localhost:7233"`` in it is
    replaced by the address of the session's dev server (``dev_env``), so
    samples show the address a reader would use. A sample that contains
    ``"localhost:7233"`` is treated so without the comment (README.md has none).
``<!-- test: ga4_emulator -->``
    The sample talks to GA4. It runs while a ``GA4Emulator`` serves property
    ``123456789`` with two weeks of synthetic landing-page traffic up to
    2024-05-14: every ``BetaAnalyticsDataClient()`` in it is replaced by a
    REST client of that emulator, and every ``GA4DataSource(...)`` gets
    ``client_factory=`` the emulator's asynchronous client.
``<!-- test: pytest -->``
    The sample is a test module. The page's test modules are written to
    ``tests/`` of its working directory and run with pytest in one
    subprocess after its other samples, as a reader would run them (warnings
    as errors, and the ``asyncio_default_fixture_loop_scope`` a configured
    project sets). A page of test modules only runs them in the background
    from the start, like the Quickstart's commands below.
``<!-- not-tested: reason -->``
    The sample is deliberately partial. Keep these rare.

Fences of other languages are not run, except two commands of the
Quickstart, which run in the background while the samples run: the demo,
whose output is compared with the ```` ```text ```` fence after
``<!-- demo-output -->`` on every line that does not carry a date, an ID, a
port, a version or a timing, and the saved-report walkthrough on
``docs/examples/landing-page-report.json``.
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
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
SAVED_REPORT = DOCS / "examples" / "landing-page-report.json"
SAMPLE_TIMEOUT_S = 120
COMMAND_TIMEOUT_S = 180

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")
_MARKER = re.compile(
    r"^\s*<!--\s*(?P<kind>test|not-tested)\s*:\s*(?P<value>.*?)\s*-->\s*$"
)
_KINDS = {"dev_server", "ga4_emulator", "pytest"}
_DEV_SERVER_ADDRESS = '"localhost:7233"'
_GA4_CLIENT = "BetaAnalyticsDataClient()"
_GA4_SOURCE = "GA4DataSource("

EMULATOR_TODAY = datetime.date(2024, 5, 15)
"""The emulator's "today" in ga4_emulator samples; the traffic ends the day before."""


# --- finding samples ----------------------------------------------------------------


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

    @property
    def module_name(self) -> str:
        return f"docs_sample_{self.page.stem.replace('-', '_').lower()}_{self.line}"


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


# --- running samples ----------------------------------------------------------------


@attrs.frozen
class Command:
    """A command running in a subprocess, its output going to a file."""

    process: subprocess.Popen[str]
    output: Path
    what: str

    def finished(self) -> str:
        """Wait for the command and return its output; it must succeed."""
        returncode = self.process.wait(timeout=COMMAND_TIMEOUT_S)
        text = self.output.read_text(encoding="utf-8")
        assert returncode == 0, f"{self.what}:\n{text}"
        return text


def _run_in_thread(function: Callable[[], object]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(function).result(timeout=SAMPLE_TIMEOUT_S)


def _main_guard(tree: ast.Module) -> ast.If | None:
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            '__name__ == "__main__"',
            "__name__ == '__main__'",
        ):
            return node
    return None


def _compile(tree: ast.Module, path: Path) -> types.CodeType:
    return compile(
        tree,
        str(path),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,  # not this file's `from __future__ import annotations`
    )


def _run_module(
    sample: Fence, code: str, workdir: Path, extra: dict[str, Any] | None = None
) -> None:
    """Run ``code`` as ``python sample.py`` would, from a module file in ``workdir``."""
    path = workdir / f"{sample.module_name}.py"
    path.write_text(code, encoding="utf-8")
    tree = ast.parse(code, str(path))
    guard = _main_guard(tree)
    steps = [_compile(tree, path)]
    if guard is not None:
        steps.append(_compile(ast.Module(body=guard.body, type_ignores=[]), path))

    module = types.ModuleType(sample.module_name)
    module.__file__ = str(path)
    module.__dict__.update(extra or {})
    sys.modules[sample.module_name] = module

    def run() -> None:
        for step in steps:
            if step.co_flags & inspect.CO_COROUTINE:
                asyncio.run(eval(step, module.__dict__))
            else:
                exec(step, module.__dict__)

    try:
        _run_in_thread(run)
    finally:
        del sys.modules[sample.module_name]


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
    if kind == "dev_server":
        address = f'"{dev_env.client.service_client.config.target_host}"'
        _run_module(sample, code.replace(_DEV_SERVER_ADDRESS, address), workdir)
    elif kind == "ga4_emulator":
        from ga4_button_workflows.testing import GA4Emulator

        assert _GA4_CLIENT in code or _GA4_SOURCE in code, (
            f"{sample.where}: nothing to point at the emulator"
        )
        with GA4Emulator(
            _emulator_events(),
            custom_dimensions=["button_type", "page_variant"],
            custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
            today=EMULATOR_TODAY,
            time_zone="UTC",
        ) as emulator:
            code = code.replace(_GA4_CLIENT, '_docs_emulator.client("rest")')
            code = code.replace(
                _GA4_SOURCE,
                f"{_GA4_SOURCE}client_factory=_docs_emulator.async_client, ",
            )
            _run_module(sample, code, workdir, {"_docs_emulator": emulator})
    else:
        _run_module(sample, code, workdir)


def _start_test_modules(samples: list[Fence], workdir: Path) -> Command:
    """Start pytest on the samples' test modules, written to ``workdir/tests``."""
    folder = workdir / "tests"
    folder.mkdir(exist_ok=True)
    for sample in samples:
        (folder / f"test_{sample.module_name}.py").write_text(sample.code, "utf-8")
    output = workdir / "pytest-output.txt"
    with output.open("w", encoding="utf-8") as stream:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "pytest", "-q", "-W", "error"),
                *("-p", "no:cacheprovider"),
                *("-p", "no:hypothesispytest"),  # 1.5 s of imports no sample needs
                *("-o", "asyncio_default_fixture_loop_scope=function"),
                str(folder),
            ],
            cwd=workdir,
            stdout=stream,
            stderr=subprocess.STDOUT,
            text=True,
        )
    where = ", ".join(sample.where for sample in samples)
    return Command(process, output, where)


def _is_test_modules_only(page: Path) -> bool:
    kinds = {sample_kind(sample) for sample in python_samples(page)} - {"skip"}
    return kinds == {"pytest"}


PAGES_WITH_SAMPLES = [page for page in PAGES if python_samples(page)]


@pytest.mark.parametrize(
    "page", PAGES_WITH_SAMPLES, ids=lambda page: str(page.relative_to(ROOT))
)
async def test_every_python_sample_of_the_page_runs(
    page: Path,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    background_commands: dict[str, Command],
) -> None:
    started = background_commands.get(str(page))
    if started is not None:  # test modules only: started with the module
        await asyncio.to_thread(started.finished)
        return
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    test_modules = []
    for sample in python_samples(page):
        kind = sample_kind(sample)
        if kind == "pytest":
            test_modules.append(sample)
        elif kind != "skip":
            await asyncio.to_thread(_run_sample, sample, kind, dev_env, tmp_path)
    if test_modules:
        await asyncio.to_thread(_start_test_modules(test_modules, tmp_path).finished)


def test_samples_are_rarely_left_untested() -> None:
    samples = [sample for page in PAGES for sample in python_samples(page)]
    skipped = [sample.where for sample in samples if sample_kind(sample) == "skip"]
    assert len(samples) >= 20
    assert len(skipped) <= 2, skipped


def test_markers_stand_before_python_fences_only() -> None:
    for page in PAGES:
        for fence in fences(page):
            if fence.marker is not None:
                assert fence.language in ("python", "py"), fence.where


# --- the Quickstart's commands, run in the background ---------------------------------


@pytest.fixture(scope="module")
def background_commands(
    tmp_path_factory: pytest.TempPathFactory, dev_env: WorkflowEnvironment
) -> Iterator[dict[str, Command]]:
    """Start the slow independent runs at once, to overlap with the samples.

    These are the Quickstart's two commands, keyed by name, and the pytest run
    of each page whose samples are all test modules, keyed by the page's path.
    The demo starts its own dev server, as on the page; the walkthrough runs on
    the session's, to spare the machine a third server.
    """
    address = dev_env.client.service_client.config.target_host
    commands = {
        "demo": ["demo"],
        "walkthrough": [
            *("analyze", "--address", address),
            *("--report-file", str(SAVED_REPORT), "--json"),
        ],
    }
    if importlib.util.find_spec("ga4_button_workflows.sources.report_file") is None:
        del commands["walkthrough"]
    started = {}
    for name, arguments in commands.items():
        folder = tmp_path_factory.mktemp(name)
        output = folder / "output.txt"
        with output.open("w", encoding="utf-8") as stream:
            process = subprocess.Popen(
                [sys.executable, "-m", "ga4_button_workflows.cli", *arguments],
                cwd=folder,
                stdout=stream,
                # The demo's page shows both streams; the walkthrough's JSON is
                # standard output alone.
                stderr=subprocess.STDOUT if name == "demo" else subprocess.DEVNULL,
                text=True,
            )
        started[name] = Command(process, output, f"ga4-buttons {' '.join(arguments)}")
    for page in PAGES_WITH_SAMPLES:
        if _is_test_modules_only(page):
            samples = [s for s in python_samples(page) if sample_kind(s) == "pytest"]
            workdir = tmp_path_factory.mktemp(page.stem)
            started[str(page)] = _start_test_modules(samples, workdir)
    yield started
    for command in started.values():
        if command.process.poll() is None:
            command.process.kill()
        command.process.wait()


_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"\[\s*\d+\.\d s\]"), "[<time>]"),
    (re.compile(r"Finished in \d+\.\d s\."), "Finished in <time>."),
    (re.compile(r"(Workflow ID: button-analysis-demo-)\w+"), r"\1<id>"),
    (re.compile(r"(Run ID: )\S+"), r"\1<id>"),
]
_SERVER_BANNER = re.compile(r"^Temporal (CLI|Server|Persistence|Metrics|UI)\b")


def _comparable(text: str) -> tuple[list[str], list[str]]:
    """The output's lines with volatile parts masked, and its progress lines.

    Progress lines are compared as a set: the save and notification branches
    run in parallel, so either may finish first.
    """
    lines = []
    progress = []
    for printed in text.splitlines():
        if _SERVER_BANNER.match(printed):
            continue  # the dev server's own banner: versions and ports
        line = printed
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        if line.startswith("  [<time>] "):
            progress.append(line.rstrip())
            line = "  [<time>] <step>"
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines, sorted(progress)


def _shown_demo_output() -> str:
    page = DOCS / "quickstart.md"
    text = page.read_text(encoding="utf-8")
    marker_line = text[: text.index("<!-- demo-output -->")].count("\n") + 1
    shown = next(fence for fence in fences(page) if fence.line > marker_line)
    assert shown.language == "text"
    return shown.code


@pytest.mark.slow
def test_quickstart_shows_what_the_demo_prints(
    background_commands: dict[str, Command],
) -> None:
    printed = background_commands["demo"].finished()

    assert _comparable(_shown_demo_output()) == _comparable(printed)


def test_saved_report_example_is_a_runreport_response() -> None:
    document = json.loads(SAVED_REPORT.read_text(encoding="utf-8"))
    dimensions = [header["name"] for header in document["dimensionHeaders"]]
    metrics = [header["name"] for header in document["metricHeaders"]]

    assert dimensions == [
        "eventName",
        "customEvent:button_type",
        "customEvent:page_variant",
    ]
    assert metrics == ["eventCount", "totalUsers", "customEvent:hover_duration"]
    assert int(document["rowCount"]) == len(document["rows"])


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("ga4_button_workflows.sources.report_file") is None,
    reason="ga4_button_workflows.sources.report_file is not written yet",
)
def test_saved_report_walkthrough_names_the_demos_picks(
    background_commands: dict[str, Command],
) -> None:
    document = json.loads(background_commands["walkthrough"].finished())

    assert document["best_performing_button"] == "cta on colors"
    assert document["worst_performing_button"] == "feature_card on typography"
