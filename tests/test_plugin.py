"""ButtonAnalyticsPlugin: what it registers, and what it leaves alone."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import inspect
import re
import uuid

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.converter import DataConverter, DefaultPayloadConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import (
    SandboxedWorkflowRunner,
    SandboxRestrictions,
)

from ga4_button_workflows import (
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
)
from ga4_button_workflows.plugin import PASSTHROUGH_MODULES
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.stores.memory import MemoryInsightStore


def _plugin(**options: object) -> ButtonAnalyticsPlugin:
    return ButtonAnalyticsPlugin(
        source=SampleDataSource(),
        store=MemoryInsightStore(),
        **options,  # type: ignore[arg-type]
    )


def test_plugin_registers_bound_methods_not_the_class() -> None:
    plugin = _plugin()
    assert plugin.bound_activities is not None
    activities = plugin.bound_activities.activities()
    assert len(activities) == 6
    assert all(inspect.ismethod(method) for method in activities)
    assert all(method.__self__ is plugin.bound_activities for method in activities)


def test_activity_worker_without_a_source_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a data source"):
        ButtonAnalyticsPlugin()


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"trend_config": {"alpha": 0.01}}, TypeError, "TrendConfig"),
        ({"analysis_url": "https://dash.example/{id}"}, ValueError, "{analysis_id}"),
        ({"analysis_url": "https://dash.example/{0}"}, ValueError, "{analysis_id}"),
        ({"analysis_url": "https://dash.example/{"}, ValueError, "double"),
        (
            {"analysis_url": "https://dash.example/{analysis_id.__class__}"},
            ValueError,
            "no format or attribute",
        ),
        (
            {"analysis_url": "javascript:alert(1)//{analysis_id}"},
            ValueError,
            "http:// or https://",
        ),
        ({"analysis_url": 42}, TypeError, "must be a string"),
    ],
)
def test_bad_alert_settings_are_refused_when_the_plugin_is_built(
    settings: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        ButtonAnalyticsPlugin(source=SampleDataSource(), **settings)  # type: ignore[arg-type]


def test_an_analysis_url_with_its_placeholder_is_accepted() -> None:
    plugin = ButtonAnalyticsPlugin(
        source=SampleDataSource(),
        analysis_url="https://dash.example/{analysis_id}?tab={{trends}}",
    )
    assert plugin.bound_activities is not None


def test_plugin_that_registers_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="registers nothing"):
        ButtonAnalyticsPlugin(workflows=False, activities=False)


def test_workflow_only_plugin_needs_no_source() -> None:
    plugin = ButtonAnalyticsPlugin(activities=False)
    assert plugin.bound_activities is None


def test_sandbox_passthrough_extends_the_hosts_restrictions() -> None:
    host_runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("host_pkg")
    )
    config = _plugin().configure_worker(
        {"client": _client_stub(), "workflow_runner": host_runner}  # type: ignore[typeddict-item]
    )
    runner = config["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert "host_pkg" in runner.restrictions.passthrough_modules
    assert set(PASSTHROUGH_MODULES) <= runner.restrictions.passthrough_modules
    assert runner.restrictions.invalid_module_members == (
        host_runner.restrictions.invalid_module_members
    )


def test_plugin_appends_to_the_hosts_workflows_and_activities() -> None:
    def host_activity() -> None: ...

    class HostWorkflow: ...

    config = _plugin().configure_worker(
        {
            "client": _client_stub(),
            "activities": [host_activity],
            "workflows": [HostWorkflow],
        }  # type: ignore[typeddict-item]
    )
    assert config["activities"][0] is host_activity
    assert len(config["activities"]) == 7
    assert list(config["workflows"])[:2] == [HostWorkflow, ButtonAnalyticsWorkflow]


def test_activity_only_plugin_registers_no_workflow() -> None:
    config = _plugin(workflows=False).configure_worker(
        {"client": _client_stub()}  # type: ignore[typeddict-item]
    )
    assert "workflows" not in config or not config["workflows"]
    assert len(config["activities"]) == 6


def test_worker_on_a_client_without_our_converter_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        _plugin().configure_worker(
            {"client": _client_stub(DataConverter.default)}  # type: ignore[typeddict-item]
        )


def test_client_with_another_payload_converter_is_refused() -> None:
    class Other(DefaultPayloadConverter):
        pass

    config = {"data_converter": DataConverter(payload_converter_class=Other)}
    with pytest.raises(TypeError, match="Other"):
        _plugin().configure_client(config)  # type: ignore[arg-type]


async def test_plugin_on_the_client_configures_converter_and_workers(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    plugin = _plugin()
    config = dev_env.client.config()
    config["data_converter"] = DataConverter.default
    config["plugins"] = [plugin]
    client = Client(**config)

    async with Worker(client, task_queue=task_queue):
        outcome = await client.execute_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=2),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert outcome.saved.status is BranchStatus.DONE


async def test_split_workflow_and_activity_workers_cooperate(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    workflows_only = ButtonAnalyticsPlugin(activities=False)
    activities_only = _plugin(workflows=False)
    async with (
        Worker(dev_env.client, task_queue=task_queue, plugins=[workflows_only]),
        Worker(dev_env.client, task_queue=task_queue, plugins=[activities_only]),
    ):
        outcome = await dev_env.client.execute_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(property_id="42", days_back=2),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert outcome.saved.status is BranchStatus.DONE


@workflow.defn(name="WallClockWorkflow", sandboxed=True)
class WallClockWorkflow:
    """Reads the wall clock, which the sandbox must still forbid."""

    @workflow.run
    async def run(self) -> str:
        """Return the wall-clock time (and fail every workflow task)."""
        return datetime.datetime.now().isoformat()  # noqa: DTZ005 - the fault under test


async def test_sandbox_still_forbids_the_wall_clock_with_the_plugin(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[WallClockWorkflow],
        plugins=[_plugin()],
    ):
        handle = await dev_env.client.start_workflow(
            WallClockWorkflow.run, id=f"wf-{uuid.uuid4().hex}", task_queue=task_queue
        )
        failed = False
        for _ in range(50):
            history = await handle.fetch_history()
            failed = any(
                event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
                for event in history.events
            )
            if failed:
                break
            await asyncio.sleep(0.1)
        await handle.terminate("test done")
    assert failed


def _client_stub(converter: DataConverter | None = None) -> object:
    from ga4_button_workflows.converter import data_converter

    @dataclasses.dataclass
    class Stub:
        data_converter: DataConverter

    return Stub(converter or data_converter)
