"""The ``ga4-buttons`` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

SEED_KEYS = {
    "timestamp",
    "best_performing_button",
    "worst_performing_button",
    "most_engaging_variant",
    "recommendations",
    "performance_summary",
}


def _ga4_buttons(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ga4_button_workflows.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_demo_on_its_embedded_server_prints_insights_json() -> None:
    result = _ga4_buttons("demo", "--json")

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= SEED_KEYS
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


def test_help_explains_the_demo_with_an_example() -> None:
    result = _ga4_buttons("demo", "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout
    assert "ga4-buttons demo --json" in result.stdout


def test_usage_error_exits_with_code_2() -> None:
    result = _ga4_buttons("demo", "--days", "0")
    assert result.returncode == 2
    assert "--days" in result.stderr


def test_unreachable_server_is_a_configuration_error() -> None:
    result = _ga4_buttons("demo", "--address", "127.0.0.1:1", timeout=60)
    assert result.returncode == 3
    assert "127.0.0.1:1" in result.stderr
