"""What the blueprint asks Temporal: start an analysis, report on one.

Everything here is a coroutine and runs on the blueprint's background loop
(see :mod:`._loop`), which owns the client.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection

import attrs
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError, RPCStatusCode

from ga4_button_workflows.client import trigger_button_analysis
from ga4_button_workflows.converter import (
    ButtonAnalyticsPayloadConverter,
    install_converter,
)
from ga4_button_workflows.models import AnalysisOutcome, AnalysisRequest, StepProgress
from ga4_button_workflows.names import WORKFLOW_TYPE
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

__all__ = [
    "AnalysisNotFoundError",
    "AnalysisState",
    "AnalysisStatus",
    "StartedAnalysis",
    "TemporalGateway",
    "TemporalUnavailableError",
]

_PROGRESS_QUERY_TIMEOUT = datetime.timedelta(seconds=1.5)
"""A running workflow answers the query only while a worker polls its queue;
without one the status still answers, with the progress left out."""
_PROGRESS_QUERY = "progress"
"""The query name of :meth:`ButtonAnalyticsWorkflow.progress`."""
_PROPERTY_CACHE_SIZE = 512
_UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    }
)
_NOT_FOUND = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT})
_FAILED_STATES = {
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CANCELED: "canceled",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}


class TemporalUnavailableError(RuntimeError):
    """Temporal could not be reached, or answered that it is overloaded."""


class AnalysisNotFoundError(LookupError):
    """No analysis this dashboard may show has that workflow ID."""


class AnalysisState(str, enum.Enum):
    """Where an analysis workflow is, as the status API reports it."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class StartedAnalysis:
    """An analysis workflow that was started (or was already running)."""

    workflow_id: str
    run_id: str
    property_id: str


@attrs.frozen(kw_only=True)
class AnalysisStatus:
    """One look at an analysis workflow."""

    state: AnalysisState
    workflow_id: str
    run_id: str
    property_id: str
    started_at: datetime.datetime
    closed_at: datetime.datetime | None = None
    progress: tuple[StepProgress, ...] = ()
    progress_available: bool = True
    """False when the ``progress`` query got no answer (no worker polling)."""
    outcome: AnalysisOutcome | None = None
    closed_as: str | None = None
    """``failed``, ``terminated``, ``canceled`` or ``timed_out``."""
    reason: str | None = None


ClientFactory = Callable[[], Awaitable[Client]]
_Handle = WorkflowHandle[ButtonAnalyticsWorkflow, AnalysisOutcome]


def with_our_converter(client: Client) -> Client:
    """Return ``client``, or a client sharing its connection with our converter.

    Raises:
        TypeError: the client uses a payload converter that cannot be extended.
    """
    converter = client.data_converter
    if issubclass(converter.payload_converter_class, ButtonAnalyticsPayloadConverter):
        return client
    config = client.config(active_config=True)
    config["data_converter"] = install_converter(converter)
    config["plugins"] = []
    return Client(**config)


class TemporalGateway:
    """Starts analyses and reports on them, through one lazily connected client.

    Args:
        connect: Returns the client; awaited once, on the background loop, on
            first use (and again after a failed attempt).
        target: How to name the server in errors, without credentials.
        task_queue: The task queue the workers poll.
        time_zone: The properties' reporting time zone.
        notify: Ask the workflow to send notifications.
        property_ids: The numeric property IDs the dashboard serves.
    """

    def __init__(
        self,
        connect: ClientFactory,
        *,
        target: str,
        task_queue: str,
        time_zone: str,
        notify: bool,
        property_ids: Collection[str],
    ) -> None:
        self._connect = connect
        self._target = target
        self._task_queue = task_queue
        self._time_zone = time_zone
        self._notify = notify
        self._property_ids = frozenset(property_ids)
        self._client: Client | None = None
        self._connecting: asyncio.Lock | None = None
        self._properties: OrderedDict[tuple[str, str], str] = OrderedDict()

    @property
    def task_queue(self) -> str:
        """The task queue analyses are started on."""
        return self._task_queue

    async def start(self, property_id: str, days_back: int) -> StartedAnalysis:
        """Start the analysis of the last ``days_back`` days, without waiting.

        Raises:
            ValueError: the request is invalid (the message says why).
            TemporalUnavailableError: Temporal could not be reached.
        """
        client = await self._client_or_raise()
        try:
            handle = await trigger_button_analysis(
                client,
                property_id,
                days_back,
                wait=False,
                time_zone=self._time_zone,
                notify=self._notify,
                task_queue=self._task_queue,
            )
        except RPCError as error:
            raise self._unavailable(error) from error
        return StartedAnalysis(
            workflow_id=handle.id,
            run_id=handle.result_run_id or handle.run_id or "",
            property_id=property_id,
        )

    async def status(self, workflow_id: str, run_id: str | None) -> AnalysisStatus:
        """Describe the analysis workflow ``workflow_id`` (its latest run by default).

        Raises:
            AnalysisNotFoundError: no such workflow, a workflow of another type,
                or an analysis of a property this dashboard does not serve.
            TemporalUnavailableError: Temporal could not be reached.
        """
        client = await self._client_or_raise()
        handle = client.get_workflow_handle_for(
            ButtonAnalyticsWorkflow.run, workflow_id, run_id=run_id
        )
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status in _NOT_FOUND:
                raise AnalysisNotFoundError(workflow_id) from None
            raise self._unavailable(error) from error
        if description.workflow_type != WORKFLOW_TYPE:
            raise AnalysisNotFoundError(workflow_id)

        run_id = description.run_id
        property_id = await self._property_of(client, workflow_id, run_id)
        if property_id not in self._property_ids:
            raise AnalysisNotFoundError(workflow_id)

        handle = client.get_workflow_handle_for(
            ButtonAnalyticsWorkflow.run, workflow_id, run_id=run_id
        )
        status = AnalysisStatus(
            state=AnalysisState.RUNNING,
            workflow_id=workflow_id,
            run_id=run_id,
            property_id=property_id,
            started_at=description.start_time,
            closed_at=description.close_time,
        )
        state = description.status
        if state is WorkflowExecutionStatus.COMPLETED:
            outcome = await handle.result(follow_runs=False)
            # No progress query here: answering it would replay the whole
            # history on a worker, and the outcome says what each step did.
            return attrs.evolve(status, state=AnalysisState.COMPLETED, outcome=outcome)
        if state in _FAILED_STATES:
            return attrs.evolve(
                status,
                state=AnalysisState.FAILED,
                closed_as=_FAILED_STATES[state],
                reason=await _failure_reason(handle.result(follow_runs=False)),
            )
        progress = await self._progress(handle)
        return attrs.evolve(
            status, progress=progress or (), progress_available=progress is not None
        )

    async def _progress(self, handle: _Handle) -> tuple[StepProgress, ...] | None:
        try:
            steps: list[StepProgress] = await handle.query(
                _PROGRESS_QUERY,
                result_type=list[StepProgress],
                rpc_timeout=_PROGRESS_QUERY_TIMEOUT,
            )
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
            return None
        return tuple(steps)

    async def _property_of(self, client: Client, workflow_id: str, run_id: str) -> str:
        """The property the run analyses, read from its start event and cached."""
        key = (workflow_id, run_id)
        cached = self._properties.get(key)
        if cached is not None:
            return cached
        try:
            response = await client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=client.namespace,
                    execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                    maximum_page_size=1,
                )
            )
        except RPCError as error:
            if error.status in _NOT_FOUND:
                raise AnalysisNotFoundError(workflow_id) from None
            raise self._unavailable(error) from error
        events = response.history.events
        if not events or not events[0].HasField(
            "workflow_execution_started_event_attributes"
        ):
            raise AnalysisNotFoundError(workflow_id)
        payloads = events[0].workflow_execution_started_event_attributes.input.payloads
        [request] = await client.data_converter.decode(payloads, [AnalysisRequest])
        property_id = str(request.property_id)

        self._properties[key] = property_id
        if len(self._properties) > _PROPERTY_CACHE_SIZE:
            self._properties.popitem(last=False)
        return property_id

    async def _client_or_raise(self) -> Client:
        if self._client is not None:
            return self._client
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                try:
                    client = await self._connect()
                except (RuntimeError, OSError, RPCError) as error:
                    raise TemporalUnavailableError(
                        f"could not connect to Temporal at {self._target}: {error}"
                    ) from error
                self._client = with_our_converter(client)
        return self._client

    def _unavailable(self, error: RPCError) -> Exception:
        if error.status in _UNAVAILABLE:
            return TemporalUnavailableError(
                f"Temporal at {self._target} did not answer: {error.message}"
            )
        return error


async def _failure_reason(result: Awaitable[object]) -> str:
    try:
        await result
    except WorkflowFailureError as error:
        return _root_cause(error)
    return "the workflow closed without a result"


def _root_cause(error: BaseException) -> str:
    """The innermost failure's message: what actually went wrong."""
    cause: BaseException = error
    while isinstance(cause, TemporalError) and cause.cause is not None:
        cause = cause.cause
    return str(cause) or type(cause).__name__


def client_target(client: Client) -> str:
    """The address a client talks to, for messages."""
    config = client.service_client.config
    return f"{config.target_host} (namespace {client.namespace})"
