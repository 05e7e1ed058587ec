"""The ``ga4-buttons`` command.

Exit codes: 0 done, 2 usage error, 3 configuration error, 4 the workflow
failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.worker import Worker

from ga4_button_workflows import __version__
from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.devserver import ServerNotInstalledError, embedded_dev_server
from ga4_button_workflows.models import AnalysisOutcome, AnalysisRequest, StepProgress
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.plugin import ButtonAnalyticsPlugin
from ga4_button_workflows.render import render_text
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_WORKFLOW_FAILED = 4

DEMO_PROPERTY_ID = "100000001"
"""The property ID the demo's synthetic data is filed under."""

ENV_PREFIX = "GA4_BUTTONS"

_T = TypeVar("_T")


class ConfigurationError(click.ClickException):
    """A setting is wrong; exits with code 3."""

    exit_code = EXIT_CONFIGURATION


class WorkflowFailed(click.ClickException):
    """The analysis workflow failed; exits with code 4."""

    exit_code = EXIT_WORKFLOW_FAILED


@click.group(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": ENV_PREFIX,
    },
    epilog=(
        "Exit codes: 0 done, 2 usage error, 3 configuration error, "
        "4 the workflow failed."
    ),
)
@click.version_option(__version__, prog_name="ga4-buttons")
def main() -> None:
    """Analyse GA4 button interactions with Temporal workflows."""


@main.command(
    epilog=(
        "Example:\n\n  ga4-buttons demo --json > insights.json\n\n"
        "Environment: GA4_BUTTONS_DEMO_ADDRESS, GA4_BUTTONS_DEMO_NAMESPACE."
    )
)
@click.option(
    "--address",
    metavar="HOST:PORT",
    help="Use this Temporal server instead of starting an embedded dev server.",
)
@click.option("--namespace", default="default", show_default=True)
@click.option(
    "--task-queue", default=DEFAULT_TASK_QUEUE, show_default=True, help="Task queue."
)
@click.option(
    "--days",
    default=14,
    show_default=True,
    type=click.IntRange(1, 90),
    help="Days of synthetic traffic to analyse.",
)
@click.option("--seed", default=20240601, show_default=True, help="Traffic seed.")
@click.option("--json", "as_json", is_flag=True, help="Print only the insights JSON.")
def demo(
    address: str | None,
    namespace: str,
    task_queue: str,
    days: int,
    seed: int,
    as_json: bool,
) -> None:
    """Run the workflow end to end on bundled synthetic landing-page traffic.

    Starts an embedded Temporal dev server (unless --address is given) and an
    in-process worker, analyses 14 days of seeded traffic on the original
    landing page's five variants, and prints the insights.
    """
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(seed=seed), store=MemoryInsightStore()
    )

    async def run(client: Client) -> tuple[AnalysisOutcome, str, str]:
        workflow_id = f"button-analysis-demo-{uuid.uuid4().hex[:12]}"
        async with Worker(client, task_queue=task_queue):
            handle = await client.start_workflow(
                ButtonAnalyticsWorkflow.run,
                AnalysisRequest(property_id=DEMO_PROPERTY_ID, days_back=days),
                id=workflow_id,
                task_queue=task_queue,
            )
            outcome = await _wait_with_progress(handle, quiet=as_json)
            return outcome, handle.id, handle.result_run_id or ""

    started = time.monotonic()
    outcome, workflow_id, run_id = _run(
        _with_client(address, namespace, plugin, run, quiet=as_json)
    )
    _print_outcome(outcome, workflow_id, run_id, as_json=as_json)
    if not as_json:
        click.echo(f"Finished in {time.monotonic() - started:.1f} s.", err=True)


async def _with_client(
    address: str | None,
    namespace: str,
    plugin: ButtonAnalyticsPlugin,
    body: Callable[[Client], Awaitable[_T]],
    *,
    quiet: bool,
) -> _T:
    if address:
        try:
            client = await Client.connect(
                address, namespace=namespace, plugins=[plugin]
            )
        except RuntimeError as error:
            raise ConfigurationError(
                f"cannot reach the Temporal server at {address}: {error}"
            ) from None
        return await body(client)
    if not quiet:
        click.echo("Starting an embedded Temporal dev server...", err=True)
    try:
        async with embedded_dev_server(namespace=namespace, plugins=[plugin]) as env:
            return await body(env.client)
    except ServerNotInstalledError as error:
        raise ConfigurationError(str(error)) from None


async def _wait_with_progress(
    handle: WorkflowHandle[Any, AnalysisOutcome], *, quiet: bool
) -> AnalysisOutcome:
    started = time.monotonic()
    result = asyncio.ensure_future(handle.result())
    shown = 0
    while True:
        done, _ = await asyncio.wait({result}, timeout=0.2)
        if not quiet:
            try:
                steps = await handle.query(
                    ButtonAnalyticsWorkflow.progress, result_type=list[StepProgress]
                )
            except Exception:
                steps = []
            for step in steps[shown:]:
                elapsed = time.monotonic() - started
                click.echo(f"  [{elapsed:5.1f} s] {step.step}: {step.detail}", err=True)
            shown = max(shown, len(steps))
        if done:
            break
    try:
        return result.result()
    except WorkflowFailureError as error:
        cause = error.cause
        raise WorkflowFailed(f"the analysis failed: {cause or error}") from None


def _print_outcome(
    outcome: AnalysisOutcome, workflow_id: str, run_id: str, *, as_json: bool
) -> None:
    if as_json:
        document = make_cattrs_converter().unstructure(outcome.insights)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False))
        click.echo(f"Workflow ID: {workflow_id}\nRun ID: {run_id}", err=True)
        return
    click.echo(render_text(outcome.insights))
    click.echo("")
    click.echo(f"Saved: {outcome.saved.status.value} ({outcome.saved.detail})")
    click.echo(f"Notified: {outcome.notified.status.value} ({outcome.notified.detail})")
    click.echo(f"Workflow ID: {workflow_id}")
    click.echo(f"Run ID: {run_id}")


def _run(coroutine: Awaitable[_T]) -> _T:
    try:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
