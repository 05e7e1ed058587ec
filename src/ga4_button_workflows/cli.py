"""The ``ga4-buttons`` command.

Exit codes: 0 done, 1 nothing found, 2 usage error, 3 configuration error,
4 the workflow failed.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import signal
import sys
import time
import uuid
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from ga4_button_workflows import __version__
from ga4_button_workflows.client import trigger_button_analysis
from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.devserver import ServerNotInstalledError, embedded_dev_server
from ga4_button_workflows.models import (
    AnalysisOutcome,
    AnalysisRequest,
    ButtonInsights,
    EventSchema,
    local_date,
    resolve_period,
    validate_property_id,
)
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.plugin import ButtonAnalyticsPlugin
from ga4_button_workflows.ports import ButtonDataSource, InsightStore, Notifier
from ga4_button_workflows.render import render_text
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores import open_store
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["main", "run"]

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_WORKFLOW_FAILED = 4

DEMO_PROPERTY_ID = "100000001"
"""The property ID the demo's synthetic data is filed under."""

REPORT_FILE_PROPERTY_ID = "0"
"""The property ID a saved report is filed under when none is given."""

ENVIRONMENT = {
    "GA4_BUTTONS_PROPERTY_ID": "the numeric GA4 property ID",
    "GA4_BUTTONS_CREDENTIALS": "a service-account JSON key file (else ADC)",
    "GA4_BUTTONS_TEMPORAL_ADDRESS": "the Temporal server, HOST:PORT",
    "GA4_BUTTONS_TEMPORAL_NAMESPACE": "the Temporal namespace",
    "GA4_BUTTONS_TASK_QUEUE": "the task queue",
    "GA4_BUTTONS_STORE_URL": "where analyses are kept",
    "GA4_BUTTONS_SLACK_WEBHOOK_URL": "a Slack incoming-webhook URL",
    "GA4_BUTTONS_WEBHOOK_URL": "a webhook that receives the insights JSON",
    "GA4_BUTTONS_WEBHOOK_SECRET": "the webhook's HMAC-SHA256 secret",
}

_CREDENTIALS_HELP = (
    "Service-account JSON key; Application Default Credentials if omitted."
)

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class ConfigurationError(click.ClickException):
    """A setting is wrong; exits with code 3."""

    exit_code = EXIT_CONFIGURATION


class WorkflowFailed(click.ClickException):
    """The analysis workflow failed; exits with code 4."""

    exit_code = EXIT_WORKFLOW_FAILED


class NothingFound(click.ClickException):
    """What was asked for does not exist; exits with code 1."""

    exit_code = EXIT_NOT_FOUND


def _environment_help() -> str:
    width = max(len(name) for name in ENVIRONMENT)
    lines = [
        f"  {name.ljust(width)}  {meaning}" for name, meaning in ENVIRONMENT.items()
    ]
    return "\b\nEnvironment variables:\n" + "\n".join(lines)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "\b\nExit codes: 0 done, 1 nothing found, 2 usage error, "
        "3 configuration error, 4 the workflow failed.\n\n" + _environment_help()
    ),
)
@click.version_option(__version__, prog_name="ga4-buttons")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def main(verbose: bool) -> None:
    """Analyse GA4 button interactions with Temporal workflows."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Activity failures are logged with tracebacks; the command says why
        # the analysis failed in one line instead (-v shows them).
        logging.getLogger("temporalio").setLevel(logging.ERROR)


# --- Shared options -------------------------------------------------------------


def _temporal_options(*, required_address: bool = False) -> Callable[[_F], _F]:
    def decorate(command: _F) -> _F:
        options = [
            click.option(
                "--address",
                envvar="GA4_BUTTONS_TEMPORAL_ADDRESS",
                show_envvar=True,
                required=required_address,
                metavar="HOST:PORT",
                help=(
                    "The Temporal server."
                    if required_address
                    else "The Temporal server; without it, `demo` and `analyze` "
                    "start an embedded dev server and `worker` refuses to start."
                ),
            ),
            click.option(
                "--namespace",
                envvar="GA4_BUTTONS_TEMPORAL_NAMESPACE",
                show_envvar=True,
                default="default",
                show_default=True,
            ),
            click.option(
                "--task-queue",
                envvar="GA4_BUTTONS_TASK_QUEUE",
                show_envvar=True,
                default=None,
                help=f"The task queue [default: {DEFAULT_TASK_QUEUE}].",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _property_option(*, required: bool) -> Callable[[_F], _F]:
    return click.option(
        "--property-id",
        envvar="GA4_BUTTONS_PROPERTY_ID",
        show_envvar=True,
        required=required,
        metavar="ID",
        help="The numeric GA4 property ID (Admin > Property settings), not G-...",
    )


def _source_options(command: _F) -> _F:
    options = [
        _property_option(required=False),
        click.option(
            "--credentials",
            envvar="GA4_BUTTONS_CREDENTIALS",
            show_envvar=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=_CREDENTIALS_HELP,
        ),
        click.option(
            "--report-file",
            "report_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A saved GA4 runReport/batchRunReports JSON response (repeatable).",
        ),
        click.option(
            "--schema",
            default="original_landing_page",
            show_default=True,
            help="An event-schema preset name, or a TOML/JSON schema file.",
        ),
        click.option(
            "--sample-data",
            is_flag=True,
            help="Analyse seeded synthetic traffic instead of GA4 (to try things).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _delivery_options(command: _F) -> _F:
    options = [
        click.option(
            "--store",
            "store_url",
            envvar="GA4_BUTTONS_STORE_URL",
            show_envvar=True,
            metavar="URL",
            help=(
                "Where to save: sqlite:///button_insights.db, postgresql://..., "
                "json:FILE or memory: [default: memory:]."
            ),
        ),
        click.option(
            "--notify",
            "notify_console",
            is_flag=True,
            help="Also print the notification summary to stderr.",
        ),
        click.option(
            "--slack-webhook",
            envvar="GA4_BUTTONS_SLACK_WEBHOOK_URL",
            show_envvar=True,
            metavar="URL",
            help="Post the findings to this Slack incoming webhook.",
        ),
        click.option(
            "--webhook-url",
            envvar="GA4_BUTTONS_WEBHOOK_URL",
            show_envvar=True,
            metavar="URL",
            help="POST the insights JSON here (signed with --webhook-secret).",
        ),
        click.option(
            "--webhook-secret",
            envvar="GA4_BUTTONS_WEBHOOK_SECRET",
            show_envvar=True,
            help="Shared secret for the webhook's HMAC-SHA256 signature.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _load_schema(schema: str) -> EventSchema:
    from ga4_button_workflows import schemas

    try:
        return schemas.resolve_schema(schema)
    except (ValueError, OSError) as error:
        raise ConfigurationError(str(error)) from None


def _build_source(
    *,
    property_id: str | None,
    credentials: Path | None,
    report_files: Sequence[Path],
    schema: str,
    sample_data: bool = False,
) -> ButtonDataSource:
    event_schema = _load_schema(schema)
    if sample_data:
        if event_schema.name != "original_landing_page":
            raise ConfigurationError(
                f"--sample-data makes the original landing page's events; it "
                f"cannot be read with the schema {event_schema.name!r}. Drop "
                "--schema, or analyse real data with it"
            )
        return SampleDataSource(daily=True, previous_period=True)
    try:
        if report_files:
            from ga4_button_workflows.sources.report_file import ReportFileSource

            files = ReportFileSource(report_files, schema=event_schema)
            try:
                # Read once now: a bad file is a configuration error, not a
                # failed analysis after retries.
                files.read_report()
            except ApplicationError as error:
                raise ConfigurationError(error.message) from None
            return files
        if property_id is None:
            raise ConfigurationError(
                "give --property-id (or GA4_BUTTONS_PROPERTY_ID) to read GA4, "
                "or --report-file to analyse a saved report"
            )
        from ga4_button_workflows.sources.ga4 import GA4DataSource

        _check_credentials(credentials)
        # Trends need the daily request; change findings the previous period.
        return GA4DataSource(
            schema=event_schema,
            credentials_file=credentials,
            daily=True,
            previous_period=True,
        )
    except ImportError as error:
        raise ConfigurationError(
            f"{error}; install the GA4 extra: pip install 'ga4-button-workflows[ga4]'"
        ) from None
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def _check_credentials(credentials: Path | None) -> None:
    """Load the Google credentials now: missing ones are a setting, not a failure."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.oauth2 import service_account

    scope = "https://www.googleapis.com/auth/analytics.readonly"
    if credentials is not None:
        try:
            service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(credentials), scopes=[scope]
            )
        except (OSError, ValueError, KeyError) as error:
            raise ConfigurationError(
                f"cannot load the service-account key {credentials}: {error}; "
                "download a JSON key for the service account (Google Cloud, IAM > "
                "Service accounts > Keys)"
            ) from None
        return
    try:
        google.auth.default(scopes=[scope])
    except DefaultCredentialsError:
        raise ConfigurationError(
            "no Google credentials found: pass --credentials with a service-account "
            "JSON key (or set GA4_BUTTONS_CREDENTIALS), or run `gcloud auth "
            "application-default login`"
        ) from None


def _build_store(store_url: str | None, *, check: bool = True) -> InsightStore:
    if store_url is None:
        return MemoryInsightStore()
    if store_url.strip() in ("sqlite://", "sqlite:///"):
        raise ConfigurationError(
            f"{store_url!r} is an in-memory SQLite database, gone when the "
            "command ends; give a file, e.g. sqlite:///button_insights.db, or "
            "use memory:"
        )
    try:
        store = open_store(store_url)
    except (ValueError, ImportError) as error:
        raise ConfigurationError(str(error)) from None
    if check:
        _run(_check_store(store, store_url))
    return store


def _missing_sqlite_file(store_url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names when it does not exist, else None.

    Reading must not create an empty database as a side effect.
    """
    prefix = "sqlite:///"
    if not store_url.startswith(prefix):
        return None
    path = Path(store_url.removeprefix(prefix).split("?", 1)[0])
    if not str(path) or str(path) == ":memory:" or path.exists():
        return None
    return path


async def _check_store(store: InsightStore, store_url: str) -> None:
    """Read once from the store, so a wrong URL fails before any analysis."""
    try:
        await store.latest_analysis()
    except Exception as error:
        raise ConfigurationError(
            f"cannot use the store {_safe_url(store_url)}: "
            f"{type(error).__name__}: {error}"
        ) from None


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _build_notifiers(
    *,
    notify_console: bool,
    slack_webhook: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> list[Notifier]:
    from ga4_button_workflows import notifiers

    built: list[Notifier] = []
    if notify_console:
        built.append(notifiers.ConsoleNotifier())
    try:
        if slack_webhook:
            built.append(notifiers.SlackNotifier(slack_webhook))
        if webhook_url:
            if not webhook_secret:
                raise ConfigurationError(
                    "--webhook-url needs --webhook-secret (or "
                    "GA4_BUTTONS_WEBHOOK_SECRET) to sign the body"
                )
            built.append(notifiers.WebhookNotifier(webhook_url, secret=webhook_secret))
    except ImportError as error:
        message = str(error)
        if _HTTP_EXTRA not in message:
            message += f"; install the HTTP extra: pip install '{_HTTP_EXTRA}'"
        raise ConfigurationError(message) from None
    return built


_HTTP_EXTRA = "ga4-button-workflows[http]"


# --- Running against a server ------------------------------------------------------


async def _with_client(
    address: str | None,
    namespace: str,
    plugin: ButtonAnalyticsPlugin | None,
    body: Callable[[Client], Awaitable[_T]],
    *,
    quiet: bool,
) -> _T:
    plugins = [plugin] if plugin is not None else []
    if address:
        try:
            client = await Client.connect(address, namespace=namespace, plugins=plugins)
        except RuntimeError as error:
            raise ConfigurationError(
                f"cannot reach the Temporal server at {address}: {error}"
            ) from None
        await _check_namespace(client, address, namespace)
        return await body(client)
    if not quiet:
        click.echo("Starting an embedded Temporal dev server...", err=True)
    try:
        async with embedded_dev_server(namespace=namespace, plugins=plugins) as env:
            return await body(env.client)
    except ServerNotInstalledError as error:
        raise ConfigurationError(str(error)) from None


async def _connect(address: str, namespace: str) -> Client:
    from ga4_button_workflows.converter import data_converter

    try:
        client = await Client.connect(
            address, namespace=namespace, data_converter=data_converter
        )
    except RuntimeError as error:
        raise ConfigurationError(
            f"cannot reach the Temporal server at {address}: {error}"
        ) from None
    await _check_namespace(client, address, namespace)
    return client


async def _check_namespace(client: Client, address: str, namespace: str) -> None:
    """Refuse a namespace the server does not have, before anything uses it."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as error:
        # Only a namespace that is certainly missing stops here; a key that
        # may not describe namespaces still works for everything else.
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ConfigurationError(
                f"the Temporal server at {address} has no namespace "
                f"{namespace!r}; pass --namespace (default 'default'), or create "
                f"it: temporal operator namespace create {namespace}"
            ) from None


async def _wait_with_progress(
    handle: WorkflowHandle[Any, AnalysisOutcome], *, quiet: bool
) -> AnalysisOutcome:
    started = time.monotonic()
    result = asyncio.ensure_future(handle.result())
    shown = 0
    while True:
        done, _ = await asyncio.wait({result}, timeout=0.2)
        if not quiet:
            shown = await _show_progress(handle, started, shown)
        if done:
            break
    try:
        return result.result()
    except WorkflowFailureError as error:
        raise WorkflowFailed(f"the analysis failed: {_root_cause(error)}") from None


async def _show_progress(
    handle: WorkflowHandle[Any, AnalysisOutcome], started: float, shown: int
) -> int:
    try:
        steps = await handle.query(ButtonAnalyticsWorkflow.progress)
    except (RPCError, WorkflowFailureError):
        return shown  # progress is best effort; the result tells the rest
    for step in steps[shown:]:
        elapsed = time.monotonic() - started
        click.echo(f"  [{elapsed:5.1f} s] {step.step}: {step.detail}", err=True)
    return max(shown, len(steps))


def _root_cause(error: BaseException) -> str:
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    return str(error)


def _print_insights(insights: ButtonInsights, *, as_json: bool) -> None:
    if as_json:
        document = make_cattrs_converter().unstructure(insights)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        click.echo(render_text(insights))


def _print_outcome(
    outcome: AnalysisOutcome, workflow_id: str, run_id: str, *, as_json: bool
) -> None:
    _print_insights(outcome.insights, as_json=as_json)
    ids = f"Workflow ID: {workflow_id}\nRun ID: {run_id}"
    if as_json:
        click.echo(ids, err=True)
        return
    click.echo("")
    click.echo(f"Saved: {outcome.saved.status.value} ({outcome.saved.detail})")
    click.echo(f"Notified: {outcome.notified.status.value} ({outcome.notified.detail})")
    click.echo(ids)


def _run(coroutine: Awaitable[_T]) -> _T:
    try:
        return asyncio.run(_until_signalled(coroutine))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)


async def _until_signalled(coroutine: Awaitable[_T]) -> _T:
    """Run ``coroutine``; SIGINT or SIGTERM cancels it so its cleanup runs.

    Cancelling (rather than dying on the signal) lets ``async with`` blocks stop
    the embedded dev server and the worker instead of orphaning them.
    """
    task = asyncio.ensure_future(coroutine)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


# --- demo -----------------------------------------------------------------------


@main.command(
    epilog=(
        "\b\nExamples:\n  ga4-buttons demo\n  ga4-buttons demo --json > insights.json\n"
        "  ga4-buttons demo --address localhost:7233"
    )
)
@_temporal_options()
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
    task_queue: str | None,
    days: int,
    seed: int,
    as_json: bool,
) -> None:
    """Run the workflow end to end on bundled synthetic landing-page traffic.

    Starts an embedded Temporal dev server (unless --address is given) and an
    in-process worker, analyses 14 days of seeded traffic on the original
    landing page's five variants, and prints the insights, the workflow ID and
    the run ID.
    """
    queue = task_queue or DEFAULT_TASK_QUEUE
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(seed=seed, daily=True, previous_period=True),
        store=MemoryInsightStore(),
    )

    async def run(client: Client) -> tuple[AnalysisOutcome, str, str]:
        handle = await client.start_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id=DEMO_PROPERTY_ID, days_back=days),
            id=f"button-analysis-demo-{uuid.uuid4().hex[:12]}",
            task_queue=queue,
        )
        async with Worker(client, task_queue=queue):
            outcome = await _wait_with_progress(handle, quiet=as_json)
        return outcome, handle.id, handle.result_run_id or ""

    started = time.monotonic()
    outcome, workflow_id, run_id = _run(
        _with_client(address, namespace, plugin, run, quiet=as_json)
    )
    _print_outcome(outcome, workflow_id, run_id, as_json=as_json)
    if not as_json:
        click.echo(f"Finished in {time.monotonic() - started:.1f} s.", err=True)


# --- analyze --------------------------------------------------------------------


@main.command(
    epilog=(
        "\b\nExamples:\n"
        "  ga4-buttons analyze --property-id 123456789 --days-back 7\n"
        "  ga4-buttons analyze --report-file saved.json --json\n"
        "  ga4-buttons analyze --property-id 123456789 \\\n"
        "      --store sqlite:///button_insights.db --slack-webhook $SLACK_URL\n"
    )
)
@_temporal_options()
@_source_options
@_delivery_options
@click.option(
    "--days-back",
    default=7,
    show_default=True,
    type=click.IntRange(1, 434),
    help="Complete days to analyse, ending yesterday.",
)
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day (with --end-date), instead of --days-back.",
)
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day, inclusive.",
)
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    help="The property's reporting time zone (IANA name).",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the insights JSON.")
def analyze(
    address: str | None,
    namespace: str,
    task_queue: str | None,
    property_id: str | None,
    credentials: Path | None,
    report_files: tuple[Path, ...],
    schema: str,
    sample_data: bool,
    store_url: str | None,
    notify_console: bool,
    slack_webhook: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
    days_back: int,
    start_date: datetime.datetime | None,
    end_date: datetime.datetime | None,
    time_zone: str,
    as_json: bool,
) -> None:
    """Run one analysis now, against GA4 or a saved report.

    Runs on an embedded dev server unless --address points at one; a worker
    runs in this process either way, on its own task queue unless
    --task-queue is given.
    """
    source = _build_source(
        property_id=property_id,
        credentials=credentials,
        report_files=report_files,
        schema=schema,
        sample_data=sample_data,
    )
    store = _build_store(store_url)
    notifiers = _build_notifiers(
        notify_console=notify_console,
        slack_webhook=slack_webhook,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    _refuse_days_back_with_dates(start_date, end_date)
    plugin = ButtonAnalyticsPlugin(source=source, store=store, notifier=notifiers)
    if report_files and start_date is None and end_date is None:
        # A saved report's own days, when its rows say: the analysis is filed
        # under the period the data covers, not the last week.
        covered = getattr(source, "covered_period", lambda: None)()
        if covered is not None:
            start_date = datetime.datetime.combine(covered.start, datetime.time())
            end_date = datetime.datetime.combine(covered.end, datetime.time())
    _check_request(property_id, days_back, start_date, end_date, time_zone)
    queue = task_queue or f"ga4-buttons-analyze-{uuid.uuid4().hex[:8]}"
    target = property_id or (
        DEMO_PROPERTY_ID if sample_data else REPORT_FILE_PROPERTY_ID
    )

    async def run(client: Client) -> tuple[AnalysisOutcome, str, str]:
        handle = await trigger_button_analysis(
            client,
            target,
            days_back if start_date is None and end_date is None else None,
            wait=False,
            time_zone=time_zone,
            start_date=start_date.date() if start_date else None,
            end_date=end_date.date() if end_date else None,
            notify=bool(notifiers),
            task_queue=queue,
        )
        async with Worker(client, task_queue=queue):
            outcome = await _wait_with_progress(handle, quiet=as_json)
        return outcome, handle.id, handle.result_run_id or ""

    outcome, workflow_id, run_id = _run(
        _with_client(address, namespace, plugin, run, quiet=as_json)
    )
    _print_outcome(outcome, workflow_id, run_id, as_json=as_json)


def _refuse_days_back_with_dates(
    start_date: datetime.datetime | None, end_date: datetime.datetime | None
) -> None:
    """Refuse --days-back beside explicit dates rather than ignore one of them."""
    if start_date is None and end_date is None:
        return
    source = click.get_current_context().get_parameter_source("days_back")
    if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
        raise click.UsageError(
            "--days-back and --start-date/--end-date both choose the period; "
            "give --days-back alone, or --start-date with --end-date"
        )


def _check_request(
    property_id: str | None,
    days_back: int,
    start_date: datetime.datetime | None,
    end_date: datetime.datetime | None,
    time_zone: str,
) -> None:
    """Refuse a bad request before starting a server or a worker."""
    request = AnalysisRequest(
        property_id=property_id or REPORT_FILE_PROPERTY_ID,
        days_back=days_back,
        start_date=start_date.date() if start_date else None,
        end_date=end_date.date() if end_date else None,
        time_zone=time_zone,
    )
    try:
        validate_property_id(request.property_id)
        today = local_date(datetime.datetime.now(datetime.timezone.utc), time_zone)
        resolve_period(request, today=today)
    except ValueError as error:
        raise ConfigurationError(_as_options(str(error))) from None


def _as_options(message: str) -> str:
    """Name the command's options in a message about request fields."""
    for field in ("start_date", "end_date", "days_back"):
        message = message.replace(field, "--" + field.replace("_", "-"))
    return message


# --- worker ---------------------------------------------------------------------


@main.command(
    epilog=(
        "\b\nExamples:\n"
        "  ga4-buttons worker --address temporal:7233 --store sqlite:///insights.db\n"
        "  ga4-buttons worker --config worker.toml\n\n"
        "\b\nA config file holds the same settings as the options, e.g.:\n"
        "  address = 'temporal:7233'\n"
        "  task_queue = 'button-analytics'\n"
        "  store = 'postgresql://analytics@db/insights'\n"
        "  slack_webhook = 'https://hooks.slack.com/services/...'\n"
        "Options and environment variables override the file."
    )
)
@_temporal_options()
@_source_options
@_delivery_options
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A TOML file with these settings.",
)
@click.option(
    "--max-concurrent-activities",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
)
@click.pass_context
def worker(ctx: click.Context, /, config_file: Path | None, **settings: Any) -> None:
    """Run a long-lived worker for a Temporal server; stop with SIGTERM or Ctrl-C.

    On SIGTERM or SIGINT it stops polling, lets running activities finish (up
    to 30 s) and exits 0.
    """
    try:
        _worker(ctx, config_file, settings)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(f"bad worker setting: {error}") from None


def _worker(
    ctx: click.Context, config_file: Path | None, settings: dict[str, Any]
) -> None:
    if config_file is not None:
        settings = _merge_config(ctx, config_file, settings)
    if not settings.get("address"):
        raise ConfigurationError(
            "a worker needs a Temporal server: give --address, "
            "GA4_BUTTONS_TEMPORAL_ADDRESS or `address` in the config file"
        )
    source = _build_source(
        property_id=settings.get("property_id"),
        credentials=_optional_path(settings.get("credentials")),
        report_files=[Path(p) for p in settings.get("report_files") or ()],
        schema=settings.get("schema") or "original_landing_page",
        sample_data=bool(settings.get("sample_data")),
    )
    store = _build_store(settings.get("store_url"))
    notifiers = _build_notifiers(
        notify_console=bool(settings.get("notify_console")),
        slack_webhook=settings.get("slack_webhook"),
        webhook_url=settings.get("webhook_url"),
        webhook_secret=settings.get("webhook_secret"),
    )
    plugin = ButtonAnalyticsPlugin(source=source, store=store, notifier=notifiers)
    queue = settings.get("task_queue") or DEFAULT_TASK_QUEUE
    _run(
        _serve(
            address=str(settings["address"]),
            namespace=settings.get("namespace") or "default",
            task_queue=queue,
            plugin=plugin,
            max_concurrent_activities=int(
                settings.get("max_concurrent_activities") or 20
            ),
        )
    )


_CONFIG_KEYS = {
    "address": "address",
    "namespace": "namespace",
    "task_queue": "task_queue",
    "property_id": "property_id",
    "credentials": "credentials",
    "report_files": "report_files",
    "schema": "schema",
    "sample_data": "sample_data",
    "store": "store_url",
    "notify": "notify_console",
    "slack_webhook": "slack_webhook",
    "webhook_url": "webhook_url",
    "webhook_secret": "webhook_secret",
    "max_concurrent_activities": "max_concurrent_activities",
}


def _merge_config(
    ctx: click.Context, config_file: Path, settings: dict[str, Any]
) -> dict[str, Any]:
    try:
        config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{config_file} is not valid TOML: {error}") from None
    unknown = sorted(set(config) - set(_CONFIG_KEYS))
    if unknown:
        raise ConfigurationError(
            f"{config_file} has unknown settings: {', '.join(unknown)}; "
            f"known ones are {', '.join(sorted(_CONFIG_KEYS))}"
        )
    merged = dict(settings)
    for key, value in config.items():
        name = _CONFIG_KEYS[key]
        if ctx.get_parameter_source(name) in (
            click.core.ParameterSource.DEFAULT,
            None,
        ):
            merged[name] = value
    return merged


def _optional_path(value: object) -> Path | None:
    return None if value in (None, "") else Path(str(value))


async def _serve(
    *,
    address: str,
    namespace: str,
    task_queue: str,
    plugin: ButtonAnalyticsPlugin,
    max_concurrent_activities: int,
) -> None:
    try:
        client = await Client.connect(address, namespace=namespace, plugins=[plugin])
    except (RuntimeError, ValueError) as error:
        raise ConfigurationError(
            f"cannot reach the Temporal server at {address}: {error}"
        ) from None
    await _check_namespace(client, address, namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = Worker(
        client,
        task_queue=task_queue,
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=datetime.timedelta(seconds=30),
    )
    click.echo(
        f"Worker polling task queue {task_queue!r} on {address} "
        f"(namespace {namespace!r}); stop with Ctrl-C or SIGTERM.",
        err=True,
    )
    serving = asyncio.ensure_future(running.run())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        click.echo("Stopping: finishing running activities...", err=True)
        await running.shutdown()
    else:
        stopping.cancel()
    await serving
    click.echo("Worker stopped.", err=True)


# --- schedule -------------------------------------------------------------------


@main.group(
    epilog=(
        "\b\nExamples:\n"
        "  ga4-buttons schedule set --address localhost:7233 "
        "--property-id 123456789 --hour 6 --time-zone Europe/Berlin\n"
        "  ga4-buttons schedule backfill --address localhost:7233 "
        "--property-id 123456789 --first-day 2026-03-01 --last-day 2026-03-03\n"
        "  ga4-buttons schedule list --address localhost:7233"
    )
)
def schedule() -> None:
    """Manage daily analyses on Temporal Schedules (needs a Temporal server)."""


_SCHEDULE_EXAMPLE_OPTIONS = {
    "set": " --hour 6 --time-zone Europe/Berlin",
    "backfill": " --first-day 2026-03-01 --last-day 2026-03-03",
}


def _schedule_command(
    name: str, help_text: str
) -> Callable[[Callable[..., Awaitable[None]]], click.Command]:
    def decorate(body: Callable[..., Awaitable[None]]) -> click.Command:
        example = f"ga4-buttons schedule {name} --address localhost:7233 " + (
            "--property-id 123456789"
        )
        extra = _SCHEDULE_EXAMPLE_OPTIONS.get(name, "")
        epilog = f"\b\nExample:\n  {example}{extra}"

        @schedule.command(name=name, help=help_text, epilog=epilog)
        @_temporal_options(required_address=True)
        @_property_option(required=True)
        def command(
            address: str,
            namespace: str,
            task_queue: str | None,
            property_id: str,
            **options: Any,
        ) -> None:
            async def run() -> None:
                client = await _connect(address, namespace)
                try:
                    await body(
                        client,
                        property_id,
                        task_queue=task_queue or DEFAULT_TASK_QUEUE,
                        **options,
                    )
                except RPCError as error:
                    if error.status == RPCStatusCode.NOT_FOUND and name != "set":
                        from ga4_button_workflows.schedules import daily_schedule_id

                        raise NothingFound(
                            f"property {property_id} has no daily schedule "
                            f"({daily_schedule_id(property_id)}) in namespace "
                            f"{namespace!r} on {address}; create it with "
                            "`ga4-buttons schedule set`, or see "
                            "`ga4-buttons schedule list`"
                        ) from None
                    raise ConfigurationError(
                        f"{name} failed for property {property_id}: {error}"
                    ) from None
                except ValueError as error:
                    raise ConfigurationError(str(error)) from None

            _run(run())

        return command

    return decorate


# Options on a built command are appended, so they are listed bottom-up.
@click.option("--days-back", type=click.IntRange(1, 434), default=1, show_default=True)
@click.option("--time-zone", required=True, help="The property's IANA time zone.")
@click.option("--minute", type=click.IntRange(0, 59), default=0, show_default=True)
@click.option("--hour", type=click.IntRange(0, 23), required=True)
@_schedule_command("set", "Create the daily analysis, or update it to these settings.")
async def _schedule_set(
    client: Client,
    property_id: str,
    *,
    task_queue: str,
    hour: int,
    minute: int,
    time_zone: str,
    days_back: int,
) -> None:
    from ga4_button_workflows.schedules import ensure_daily_schedule

    handle = await ensure_daily_schedule(
        client,
        property_id,
        hour=hour,
        minute=minute,
        time_zone=time_zone,
        days_back=days_back,
        task_queue=task_queue,
    )
    click.echo(f"Schedule {handle.id}: daily at {hour:02d}:{minute:02d} {time_zone}.")


@_schedule_command("pause", "Pause the daily analysis.")
async def _schedule_pause(client: Client, property_id: str, *, task_queue: str) -> None:
    from ga4_button_workflows.schedules import pause_daily_schedule

    await pause_daily_schedule(client, property_id)
    click.echo(f"Paused the daily analysis of property {property_id}.")


@_schedule_command("resume", "Resume the paused daily analysis.")
async def _schedule_resume(
    client: Client, property_id: str, *, task_queue: str
) -> None:
    from ga4_button_workflows.schedules import resume_daily_schedule

    await resume_daily_schedule(client, property_id)
    click.echo(f"Resumed the daily analysis of property {property_id}.")


@_schedule_command("delete", "Delete the daily analysis schedule.")
async def _schedule_delete(
    client: Client, property_id: str, *, task_queue: str
) -> None:
    from ga4_button_workflows.schedules import delete_daily_schedule

    await delete_daily_schedule(client, property_id)
    click.echo(f"Deleted the daily analysis of property {property_id}.")


@_schedule_command("describe", "Show the daily schedule's settings and recent runs.")
async def _schedule_describe(
    client: Client, property_id: str, *, task_queue: str
) -> None:
    from ga4_button_workflows.schedules import describe_daily_schedule

    description = await describe_daily_schedule(client, property_id)
    spec = description.schedule.spec
    calendar = spec.calendars[0] if spec.calendars else None
    when = (
        f"{calendar.hour[0].start:02d}:{calendar.minute[0].start:02d}"
        if calendar
        else "?"
    )
    zone = zoneinfo.ZoneInfo(spec.time_zone_name or "UTC")
    click.echo(f"Schedule:  {description.id}")
    click.echo(f"Runs at:   {when} {spec.time_zone_name or 'UTC'}")
    request = await _scheduled_request(client, description.schedule.action)
    if request is not None:
        days = "day" if request.days_back == 1 else f"{request.days_back} days"
        click.echo(
            f"Analyses:  the {days} before each run, task queue "
            f"{getattr(description.schedule.action, 'task_queue', '?')}"
        )
    click.echo(f"Paused:    {'yes' if description.schedule.state.paused else 'no'}")
    upcoming = description.info.next_action_times[:1]
    if upcoming and not description.schedule.state.paused:
        click.echo(f"Next run:  {upcoming[0].astimezone(zone):%Y-%m-%d %H:%M}")
    for action in description.info.recent_actions[-5:]:
        started = action.action
        local = action.scheduled_at.astimezone(zone)
        line = f"Recent:    {local:%Y-%m-%d %H:%M}"
        if isinstance(started, ScheduleActionExecutionStartWorkflow):
            status = await _run_status(client, started)
            line += f"  {status:<10} {started.workflow_id}"
        click.echo(line)


async def _scheduled_request(client: Client, action: object) -> AnalysisRequest | None:
    """The request a schedule's runs start with, or None when it is not ours."""
    if not isinstance(action, ScheduleActionStartWorkflow) or len(action.args) != 1:
        return None
    try:
        (request,) = await client.data_converter.decode(
            action.args,  # raw payloads once described
            [AnalysisRequest],
        )
    except Exception:  # a schedule of another shape is shown without it
        return None
    return request if isinstance(request, AnalysisRequest) else None


async def _run_status(client: Client, run: ScheduleActionExecutionStartWorkflow) -> str:
    """A started run's status in lower case, or "unknown" once it is gone."""
    try:
        description = await client.get_workflow_handle(
            run.workflow_id, run_id=run.first_execution_run_id
        ).describe()
    except RPCError:
        return "unknown"
    return description.status.name.lower() if description.status else "unknown"


@click.option("--last-day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--first-day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@_schedule_command("backfill", "Run the daily analysis for past days.")
async def _schedule_backfill(
    client: Client,
    property_id: str,
    *,
    task_queue: str,
    first_day: datetime.datetime,
    last_day: datetime.datetime,
) -> None:
    from ga4_button_workflows.schedules import backfill_daily_schedule

    days = await backfill_daily_schedule(
        client, property_id, first_day=first_day.date(), last_day=last_day.date()
    )
    runs = "1 run" if len(days) == 1 else f"{len(days)} runs, one at a time"
    click.echo(f"Requested {runs}: {days[0]} to {days[-1]}.")


@schedule.command(
    name="list",
    epilog="\b\nExample:\n  ga4-buttons schedule list --address localhost:7233",
)
@_temporal_options(required_address=True)
def schedule_list(address: str, namespace: str, task_queue: str | None) -> None:
    """List the daily button-analysis schedules."""
    from ga4_button_workflows.schedules import list_daily_schedules

    async def run() -> list[str]:
        return await list_daily_schedules(await _connect(address, namespace))

    schedule_ids = _run(run())
    if not schedule_ids:
        raise NothingFound(
            f"no daily button-analysis schedule in namespace {namespace!r} on "
            f"{address}; create one with `ga4-buttons schedule set`"
        )
    for schedule_id in schedule_ids:
        click.echo(schedule_id)


# --- insights -------------------------------------------------------------------


@main.command(
    epilog=(
        "\b\nExamples:\n"
        "  ga4-buttons insights --store sqlite:///button_insights.db\n"
        "  ga4-buttons insights --store json:button_insights.json --json\n"
        "  ga4-buttons insights --store $URL --analysis-id button-analysis-1-..."
    )
)
@click.option(
    "--store",
    "store_url",
    envvar="GA4_BUTTONS_STORE_URL",
    show_envvar=True,
    required=True,
    metavar="URL",
    help="The store to read, as for `analyze`.",
)
@_property_option(required=False)
@click.option("--analysis-id", help="A given analysis instead of the latest.")
@click.option("--json", "as_json", is_flag=True, help="Print only the insights JSON.")
def insights(
    store_url: str, property_id: str | None, analysis_id: str | None, as_json: bool
) -> None:
    """Show the latest (or a given) analysis from a store."""
    if property_id is not None:
        try:
            property_id = validate_property_id(property_id)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
    missing = _missing_sqlite_file(store_url)
    if missing is not None:
        raise NothingFound(
            f"there is no SQLite database at {missing}; run `ga4-buttons analyze "
            f"--store {store_url}` first, or check the path"
        )
    store = _build_store(store_url)

    async def read() -> Any:
        try:
            if analysis_id:
                return await store.get_analysis(analysis_id)
            return await store.latest_analysis(property_id)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                result = close()
                if asyncio.iscoroutine(result):
                    await result

    record = _run(read())
    if record is None:
        what = f"analysis {analysis_id!r} was not" if analysis_id else "no analysis was"
        raise NothingFound(
            f"{what} found in the store; run `ga4-buttons analyze` first"
        )
    _print_insights(record.insights, as_json=as_json)


# --- check ----------------------------------------------------------------------


@main.command(
    epilog=(
        "\b\nExamples:\n"
        "  ga4-buttons check --property-id 123456789\n"
        "  ga4-buttons check --property-id 123456789 --schema generic_buttons"
    )
)
@_property_option(required=True)
@click.option(
    "--credentials",
    envvar="GA4_BUTTONS_CREDENTIALS",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=_CREDENTIALS_HELP,
)
@click.option(
    "--schema",
    default="original_landing_page",
    show_default=True,
    help="An event-schema preset name, or a TOML/JSON schema file.",
)
def check(property_id: str, credentials: Path | None, schema: str) -> None:
    """Check that GA4 has every custom definition the schema needs.

    Exits 0 when the property is ready, 3 when a custom dimension or metric
    must be registered first (GA4 collects it only from registration on).
    """
    try:
        from ga4_button_workflows.preflight import check_property
    except ImportError as error:
        raise ConfigurationError(
            f"{error}; install the GA4 extra: pip install 'ga4-button-workflows[ga4]'"
        ) from None
    event_schema = _load_schema(schema)

    async def run() -> Any:
        try:
            return await check_property(
                property_id, schema=event_schema, credentials_file=credentials
            )
        except ValueError as error:
            raise ConfigurationError(str(error)) from None

    result = _run(run())
    click.echo(result.summary())
    if not result.ready:
        sys.exit(EXIT_CONFIGURATION)


def run() -> NoReturn:
    """The ``ga4-buttons`` entry point: run the command, then leave at once.

    The process ends with :func:`os._exit` once output is flushed.
    """
    code: int | str | None = 0
    try:
        main.main(prog_name="ga4-buttons")
    except SystemExit as stop:
        code = stop.code
    if isinstance(code, str):
        click.echo(code, err=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    # XXX: temporalio's Rust runtime keeps native threads that can abort
    # CPython's finalisation ("PyGILState_Release: thread state must be
    # current"), https://github.com/temporalio/sdk-python/issues/300. A command
    # has nothing left to clean up here, so skip finalisation.
    os._exit(code or 0)


if __name__ == "__main__":
    run()
