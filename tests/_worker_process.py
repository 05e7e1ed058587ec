"""A button-analysis worker in a process of its own, for tests that kill it.

``tests/test_reliability_faults.py`` starts this script, waits for the line
``ready`` on its standard output, and ends it with SIGKILL: no ``finally``
runs, no heartbeat says goodbye, exactly as when a machine dies.

Usage::

    python tests/_worker_process.py TEMPORAL_ADDRESS TASK_QUEUE GA4_GRPC_TARGET \
        SQLITE_FILE WEBHOOK_URL

The worker runs the workflow and the activities, reads GA4 through the real
asynchronous gRPC client (pointed at the test's emulator, 2,000 rows a page,
one request at a time), saves to the SQLite file and posts to the webhook.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import sys
from typing import Any

import grpc
from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
    BetaAnalyticsDataGrpcAsyncIOTransport,
)
from google.auth.credentials import AnonymousCredentials
from temporalio.client import Client
from temporalio.worker import Worker

from ga4_button_workflows import ButtonAnalyticsPlugin
from ga4_button_workflows.notifiers import WebhookNotifier
from ga4_button_workflows.sources.ga4 import GA4DataSource
from ga4_button_workflows.stores.sql import SQLInsightStore

PAGE_SIZE = 2_000
"""Rows per GA4 request; the test's report has five such pages."""
WEBHOOK_SECRET = "worker-process-webhook-secret"
"""The webhook's signing secret; the test verifies signatures with it."""
HEARTBEAT_THROTTLE = datetime.timedelta(milliseconds=300)
"""How often heartbeats reach Temporal at most: checkpoints land quickly."""
STICKY_TIMEOUT = datetime.timedelta(seconds=1)
"""How long a workflow task waits for a dead worker's sticky queue before any
worker may take it (10 s by default)."""


def _insecure_channel(host: str, **options: Any) -> grpc.aio.Channel:
    # The emulator speaks plaintext gRPC; the generated transport opens TLS.
    return grpc.aio.insecure_channel(host, options=options.get("options"))


def ga4_source(target: str) -> GA4DataSource:
    """The real GA4 source, its asynchronous gRPC client aimed at ``target``."""
    return GA4DataSource(
        client_kwargs={
            "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
            "transport": functools.partial(
                BetaAnalyticsDataGrpcAsyncIOTransport, channel=_insecure_channel
            ),
            "client_options": {"api_endpoint": target},
        },
        page_size=PAGE_SIZE,
        max_concurrent_requests=1,
        keepalive_interval_s=0.25,
    )


async def main(
    address: str, task_queue: str, ga4_target: str, database: str, webhook_url: str
) -> None:
    plugin = ButtonAnalyticsPlugin(
        source=ga4_source(ga4_target),
        store=SQLInsightStore(f"sqlite:///{database}"),
        notifier=WebhookNotifier(webhook_url, secret=WEBHOOK_SECRET),
    )
    client = await Client.connect(address, plugins=[plugin])
    async with Worker(
        client,
        task_queue=task_queue,
        max_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        default_heartbeat_throttle_interval=HEARTBEAT_THROTTLE,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    ):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.Event().wait()  # until the test kills the process


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
