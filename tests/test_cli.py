"""The ``ga4-buttons`` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ga4_button_workflows import trigger_button_analysis, validate_insights_document
from ga4_button_workflows.stores.sql import SQLInsightStore

SEED_KEYS = {
    "timestamp",
    "best_performing_button",
    "worst_performing_button",
    "most_engaging_variant",
    "recommendations",
    "performance_summary",
}


def _ga4_buttons(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ga4_button_workflows.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_demo_on_its_embedded_server_prints_insights_json() -> None:
    result = _ga4_buttons("demo", "--json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= SEED_KEYS
    validate_insights_document(document)
    assert document["best_performing_button"]
    assert "Workflow ID: button-analysis-demo-" in result.stderr


async def test_demo_run_is_visible_on_the_server_by_its_workflow_id(
    dev_env: WorkflowEnvironment,
) -> None:
    address = dev_env.client.service_client.config.target_host
    result = _ga4_buttons("demo", "--address", address)

    assert result.returncode == 0, result.stderr
    assert "Best performing button:" in result.stdout
    workflow_id = next(
        line.split(": ", 1)[1]
        for line in result.stdout.splitlines()
        if line.startswith("Workflow ID: ")
    )
    description = await dev_env.client.get_workflow_handle(workflow_id).describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert description.workflow_type == "ButtonAnalyticsWorkflow"
    assert "fetch_ga4_data" in result.stderr  # progress lines


def test_usage_error_exits_with_code_2() -> None:
    result = _ga4_buttons("demo", "--days", "0")
    assert result.returncode == 2
    assert "--days" in result.stderr


def test_unreachable_server_is_a_configuration_error() -> None:
    result = _ga4_buttons("demo", "--address", "127.0.0.1:1", timeout=60)
    assert result.returncode == 3
    assert "127.0.0.1:1" in result.stderr


SUBCOMMANDS = [
    ("demo",),
    ("analyze",),
    ("worker",),
    ("insights",),
    ("check",),
    ("schedule", "set"),
    ("schedule", "list"),
    ("schedule", "pause"),
    ("schedule", "resume"),
    ("schedule", "delete"),
    ("schedule", "describe"),
    ("schedule", "backfill"),
]


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_explains_itself_with_an_example(
    command: tuple[str, ...],
) -> None:
    result = _ga4_buttons(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    assert f"ga4-buttons {' '.join(command)}" in result.stdout


def test_top_level_help_lists_exit_codes_and_environment_variables() -> None:
    result = _ga4_buttons("--help")
    assert result.returncode == 0
    assert "4 the workflow failed" in result.stdout
    for name in (
        "GA4_BUTTONS_PROPERTY_ID",
        "GA4_BUTTONS_TEMPORAL_ADDRESS",
        "GA4_BUTTONS_TEMPORAL_NAMESPACE",
        "GA4_BUTTONS_CREDENTIALS",
        "GA4_BUTTONS_STORE_URL",
        "GA4_BUTTONS_SLACK_WEBHOOK_URL",
    ):
        assert name in result.stdout


async def test_analyze_saves_to_a_store_that_insights_reads_back(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = dev_env.client.service_client.config.target_host
    store = f"sqlite:///{tmp_path / 'insights.db'}"

    analysed = _ga4_buttons(
        "analyze", "--sample-data", "--address", address, "--store", store, "--json"
    )
    shown = _ga4_buttons("insights", "--store", store, "--json")

    assert analysed.returncode == 0, analysed.stderr
    assert shown.returncode == 0, shown.stderr
    assert json.loads(analysed.stdout) == json.loads(shown.stdout)


def test_insights_of_an_empty_store_exits_1(tmp_path: Path) -> None:
    result = _ga4_buttons("insights", "--store", f"json:{tmp_path / 'none.json'}")
    assert result.returncode == 1
    assert "ga4-buttons analyze" in result.stderr


def test_measurement_id_is_refused_before_any_server_starts(
    tmp_path: Path,
) -> None:
    result = _ga4_buttons("analyze", "--sample-data", "--property-id", "G-JHSVNWL6QH")
    # Refused before any workflow starts: a configuration error.
    assert result.returncode == 3, result.stderr
    assert "Admin > Property settings" in result.stderr


def test_unknown_store_url_is_a_configuration_error() -> None:
    result = _ga4_buttons("insights", "--store", "mongodb://x")
    assert result.returncode == 3
    assert "mongodb://x" in result.stderr


def test_insights_from_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"

    result = _ga4_buttons("insights", "--store", f"sqlite:///{missing}")

    assert result.returncode == 1, result.stderr
    assert f"there is no SQLite database at {missing}" in result.stderr
    assert not missing.exists()


def test_insights_refuses_a_measurement_id() -> None:
    result = _ga4_buttons(
        "insights", "--store", "memory:", "--property-id", "G-JHSVNWL6QH"
    )

    assert result.returncode == 3, result.stderr
    assert "Admin > Property settings" in result.stderr


def test_a_slack_webhook_without_httpx_names_the_extra_once(tmp_path: Path) -> None:
    # A stand-in that fails to import, as httpx does where it is not installed.
    (tmp_path / "httpx").mkdir()
    (tmp_path / "httpx" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'httpx'\", name='httpx')\n"
    )
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))

    result = _ga4_buttons(
        "analyze",
        "--sample-data",
        "--slack-webhook",
        "https://hooks.slack.com/services/T/B/X",
        env={"PYTHONPATH": path},
    )

    assert result.returncode == 3
    assert result.stderr.count("pip install 'ga4-button-workflows[http]'") == 1
    assert "Traceback" not in result.stderr


def test_worker_without_a_server_is_a_configuration_error() -> None:
    result = _ga4_buttons(
        "worker", "--sample-data", env={"GA4_BUTTONS_TEMPORAL_ADDRESS": ""}
    )
    assert result.returncode == 3
    assert "--address" in result.stderr


async def test_worker_serves_analyses_and_stops_cleanly_on_sigterm(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str
) -> None:
    address = dev_env.client.service_client.config.target_host
    database = tmp_path / "worker.db"
    config = tmp_path / "worker.toml"
    config.write_text(
        f'address = "{address}"\n'
        f'task_queue = "{task_queue}"\n'
        "sample_data = true\n"
        f'store = "sqlite:///{database}"\n',
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ga4_button_workflows.cli",
        "worker",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    banner = await asyncio.wait_for(process.stderr.readline(), timeout=60)
    assert b"Worker polling" in banner

    outcome = await trigger_button_analysis(
        dev_env.client, "777", days_back=3, task_queue=task_queue
    )
    process.send_signal(signal.SIGTERM)
    returncode = await asyncio.wait_for(process.wait(), timeout=45)
    rest = (await process.stderr.read()).decode()

    assert returncode == 0, rest
    assert "Worker stopped." in rest
    store = SQLInsightStore(f"sqlite:///{database}")
    try:
        record = await store.get_analysis(outcome.analysis_id)
    finally:
        await store.close()
    assert record is not None
    assert record.insights == outcome.insights


def test_a_store_that_cannot_be_opened_fails_before_any_analysis(
    tmp_path: Path,
) -> None:
    result = _ga4_buttons(
        "analyze", "--sample-data", "--store", "sqlite:///nonexistent/dir/x.db"
    )
    assert result.returncode == 3, result.stderr
    assert "cannot use the store sqlite:///nonexistent/dir/x.db" in result.stderr
    assert "Workflow ID" not in result.stderr


def test_a_report_file_that_is_not_text_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    binary = tmp_path / "report.json"
    binary.write_bytes(b"\xff\xfe\x00binary")
    result = _ga4_buttons("analyze", "--report-file", str(binary))
    assert result.returncode == 3
    assert "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_data_refuses_a_schema_it_cannot_match() -> None:
    result = _ga4_buttons("analyze", "--sample-data", "--schema", "generic_buttons")
    assert result.returncode == 3
    assert "--sample-data" in result.stderr
    unknown = _ga4_buttons("analyze", "--sample-data", "--schema", "nope")
    assert unknown.returncode == 3
    assert "'nope'" in unknown.stderr


def test_insights_for_an_unknown_analysis_says_it_was_not_found(tmp_path: Path) -> None:
    result = _ga4_buttons(
        "insights", "--store", f"json:{tmp_path / 's.json'}", "--analysis-id", "nope"
    )
    assert result.returncode == 1
    assert "analysis 'nope' was not found" in result.stderr


def test_an_unusable_service_account_key_is_refused_before_any_analysis(
    tmp_path: Path,
) -> None:
    key = tmp_path / "key.json"
    key.write_text("{}", encoding="utf-8")
    result = _ga4_buttons(
        "analyze", "--property-id", "123456789", "--credentials", str(key)
    )
    assert result.returncode == 3
    assert "cannot load the service-account key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            [
                "--days-back",
                "3",
                "--start-date",
                "2026-03-01",
                "--end-date",
                "2026-03-02",
            ],
            "--days-back and --start-date/--end-date",
        ),
        (
            ["--start-date", "2026-03-01", "--end-date", "2999-01-01"],
            "--end-date 2999-01-01 is after today",
        ),
        (
            ["--start-date", "2026-03-05", "--end-date", "2026-03-01"],
            "--end-date 2026-03-01 is before --start-date 2026-03-05",
        ),
        (["--start-date", "2026-03-01"], "give both --start-date and --end-date"),
    ],
)
def test_a_contradictory_or_future_period_is_refused_before_any_server_starts(
    extra: list[str], expected: str
) -> None:
    result = _ga4_buttons("analyze", "--sample-data", *extra)

    usage = expected.startswith("--days-back and")
    assert result.returncode == (2 if usage else 3), result.stderr
    assert expected in result.stderr


async def test_describing_a_missing_schedule_says_how_to_create_one(
    dev_env: WorkflowEnvironment,
) -> None:
    address = dev_env.client.service_client.config.target_host

    result = await asyncio.to_thread(
        _ga4_buttons,
        "schedule",
        "describe",
        "--address",
        address,
        "--property-id",
        "987654321",
    )

    assert result.returncode == 1, result.stderr
    assert "property 987654321 has no daily schedule" in result.stderr
    assert "in namespace 'default'" in result.stderr
    assert "ga4-buttons schedule set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["schedule", "list"],
        ["schedule", "describe", "--property-id", "5"],
        ["worker", "--sample-data"],
    ],
)
async def test_an_unknown_namespace_is_a_configuration_error(
    dev_env: WorkflowEnvironment, command: list[str]
) -> None:
    address = dev_env.client.service_client.config.target_host

    result = await asyncio.to_thread(
        _ga4_buttons,
        *command,
        "--address",
        address,
        "--namespace",
        "no-such-namespace",
    )

    assert result.returncode == 3, result.stderr
    assert "has no namespace 'no-such-namespace'" in result.stderr
    assert "Traceback" not in result.stderr
