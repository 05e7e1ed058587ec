"""Faults survived end to end on real Temporal servers, with nothing lost."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import socket
import uuid
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonReport,
    FetchRequest,
    data_converter,
)
from ga4_button_workflows.devserver import embedded_dev_server
from ga4_button_workflows.notifiers import SlackNotifier, WebhookNotifier
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource


async def test_cancelled_analysis_stops_the_fetch_and_writes_nothing(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    pages_done = 0
    three_pages = asyncio.Event()
    stopped = asyncio.Event()

    async def endless(request: FetchRequest, context: FetchContext) -> ButtonReport:
        nonlocal pages_done
        try:
            while True:
                await asyncio.sleep(0.1)
                pages_done += 1
                context.checkpoint({"pages": pages_done})
                if pages_done >= 3:
                    three_pages.set()
        except asyncio.CancelledError:
            stopped.set()
            raise

    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(source=CallbackDataSource(endless), store=store)
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        plugins=[plugin],
        max_heartbeat_throttle_interval=datetime.timedelta(seconds=1),
    ):
        handle = await dev_env.client.start_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42"),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        await asyncio.wait_for(three_pages.wait(), timeout=30)
        await handle.cancel()
        # The fetch learns of the cancellation on its next heartbeat.
        await asyncio.wait_for(stopped.wait(), timeout=10)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()

    assert isinstance(failure.value.cause, CancelledError)
    assert store.save_calls == 0
    history = await handle.fetch_history()
    event_types = {event.event_type for event in history.events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED in event_types


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
async def test_analysis_completes_across_a_dev_server_restart(
    tmp_path: Path, task_queue: str
) -> None:
    database = tmp_path / "temporal.db"
    port = _free_port()
    fetch_started = asyncio.Event()
    server_back = asyncio.Event()
    sample = SampleDataSource()

    async def gated(request: FetchRequest, context: FetchContext) -> ButtonReport:
        fetch_started.set()
        await server_back.wait()
        return await sample.fetch_report(request, context)

    store = MemoryInsightStore()
    plugin = ButtonAnalyticsPlugin(source=CallbackDataSource(gated), store=store)
    async with embedded_dev_server(database_file=database, port=port):
        client = await Client.connect(f"127.0.0.1:{port}", plugins=[plugin])
        handle = await client.start_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=2),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        worker = Worker(client, task_queue=task_queue)
        running = asyncio.ensure_future(worker.run())
        await asyncio.wait_for(fetch_started.wait(), timeout=30)
    # The server is down here, with the fetch in flight.
    async with embedded_dev_server(database_file=database, port=port):
        server_back.set()
        outcome = await asyncio.wait_for(handle.result(), timeout=120)
        await worker.shutdown()
        await running

    assert outcome.saved.status is BranchStatus.DONE
    assert len(store.analyses) == 1


async def test_secrets_never_reach_logs_or_workflow_history(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack_token = "T0SECRET/B0SECRET/slackTokenXYZ123"
    webhook_token = "hook-token-abc987"
    webhook_secret = "signing-secret-def654"
    httpserver.expect_request(f"/services/{slack_token}").respond_with_data("ok")
    httpserver.expect_request(f"/hooks/{webhook_token}").respond_with_data("ok")
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(),
        store=MemoryInsightStore(),
        notifier=[
            SlackNotifier(httpserver.url_for(f"/services/{slack_token}")),
            WebhookNotifier(
                httpserver.url_for(f"/hooks/{webhook_token}"), secret=webhook_secret
            ),
        ],
    )
    workflow_id = f"wf-{uuid.uuid4().hex}"
    with caplog.at_level(logging.DEBUG):
        async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
            outcome = await dev_env.client.execute_workflow(
                ButtonAnalyticsWorkflow.run,
                AnalysisRequest(property_id="42", days_back=2),
                id=workflow_id,
                task_queue=task_queue,
            )

    assert outcome.notified.status is BranchStatus.DONE
    assert len(httpserver.log) == 2
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    history_text = json.dumps(history.to_json_dict())
    # The local HTTP server's own access log plays Slack's side: leave it out.
    ours = [record for record in caplog.records if record.name != "werkzeug"]
    logs = "\n".join(record.getMessage() for record in ours)
    logs += "\n".join(repr(record.args) for record in ours)
    for secret in ("slackTokenXYZ123", webhook_token, webhook_secret):
        assert secret not in history_text
        assert secret not in logs
    assert data_converter  # the history was written through our converter


async def test_ga4_service_account_secrets_never_reach_logs_or_history(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A real service-account key file, loaded by the GA4 source for the run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ga4_button_workflows.sources.ga4 import GA4DataSource
    from ga4_button_workflows.testing import EmulatedEvent, GA4Emulator
    from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    access_token = "ya29.secret-access-token-0123456789"
    # Should the client exchange the key for a token, it happens here, locally.
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"}
    )
    key_file = tmp_path / "reader.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "demo-project",
                "private_key_id": "key-id-abcdef123456",
                "private_key": pem,
                "client_email": "ga4-reader@demo-project.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": httpserver.url_for("/token"),
            }
        ),
        encoding="utf-8",
    )
    start = datetime.date(2024, 5, 1)
    events = [
        EmulatedEvent(
            date=e.date, user_id=e.user_id, event_name=e.event_name, params=e.params
        )
        for e in generate_landing_page_traffic(
            start=start, days=2, visitors_per_variant_per_day=40, seed=5
        )
    ]
    with GA4Emulator(
        events,
        custom_dimensions=["button_type", "page_variant"],
        custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        today=datetime.date(2024, 5, 10),
    ) as emulator:
        source = GA4DataSource(
            credentials_file=key_file,
            transport="rest",
            client_options={"api_endpoint": emulator.rest_endpoint},
        )
        plugin = ButtonAnalyticsPlugin(source=source, store=MemoryInsightStore())
        workflow_id = f"wf-{uuid.uuid4().hex}"
        with caplog.at_level(logging.DEBUG):
            async with Worker(dev_env.client, task_queue=task_queue, plugins=[plugin]):
                outcome = await dev_env.client.execute_workflow(
                    ButtonAnalyticsWorkflow.run,
                    AnalysisRequest(
                        property_id=emulator.property_id,
                        start_date=start,
                        end_date=start + datetime.timedelta(days=1),
                        time_zone="America/Los_Angeles",
                    ),
                    id=workflow_id,
                    task_queue=task_queue,
                )

    assert outcome.rows_read > 0
    assert source._credentials is not None  # the key file was loaded and used
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    history_text = json.dumps(history.to_json_dict())
    ours = [record for record in caplog.records if record.name != "werkzeug"]
    logs = "\n".join(record.getMessage() for record in ours)
    logs += "\n".join(repr(record.args) for record in ours)
    key_body = pem.splitlines()[5]  # a line from the middle of the private key
    for secret in (key_body, "key-id-abcdef123456", access_token):
        assert secret not in history_text
        assert secret not in logs
