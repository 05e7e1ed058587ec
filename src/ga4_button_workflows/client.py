"""Starting analyses from a host application."""

from __future__ import annotations

import datetime
from typing import Literal, overload

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from ga4_button_workflows.models import (
    AnalysisOutcome,
    AnalysisRequest,
    Period,
    local_date,
    resolve_period,
    validate_property_id,
)
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

__all__ = ["analysis_workflow_id", "trigger_button_analysis"]


def analysis_workflow_id(property_id: str, period: Period) -> str:
    """Return the workflow ID of the analysis of ``property_id`` over ``period``.

    The ID is deterministic, so a second trigger for the same property and
    period attaches to the running analysis instead of starting another.
    """
    return (
        f"button-analysis-{property_id}-"
        f"{period.start.isoformat()}-{period.end.isoformat()}"
    )


@overload
async def trigger_button_analysis(
    client: Client,
    property_id: str,
    days_back: int | None = ...,
    *,
    wait: Literal[True] = ...,
    time_zone: str = ...,
    start_date: datetime.date | None = ...,
    end_date: datetime.date | None = ...,
    notify: bool = ...,
    task_queue: str = ...,
    workflow_id: str | None = ...,
) -> AnalysisOutcome: ...


@overload
async def trigger_button_analysis(
    client: Client,
    property_id: str,
    days_back: int | None = ...,
    *,
    wait: Literal[False],
    time_zone: str = ...,
    start_date: datetime.date | None = ...,
    end_date: datetime.date | None = ...,
    notify: bool = ...,
    task_queue: str = ...,
    workflow_id: str | None = ...,
) -> WorkflowHandle[ButtonAnalyticsWorkflow, AnalysisOutcome]: ...


async def trigger_button_analysis(
    client: Client,
    property_id: str,
    days_back: int | None = None,
    *,
    wait: bool = True,
    time_zone: str = "UTC",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    notify: bool = True,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None,
) -> AnalysisOutcome | WorkflowHandle[ButtonAnalyticsWorkflow, AnalysisOutcome]:
    """Start (or attach to) the analysis of one property over one period.

    The period is resolved here, in the property's ``time_zone``, and sent to
    the workflow explicitly, so the workflow ID names the days analysed.

    Args:
        client: A client connected with
            :class:`~ga4_button_workflows.ButtonAnalyticsPlugin` (or its
            converter).
        property_id: The numeric GA4 property ID.
        days_back: Complete days to analyse, ending yesterday; 7 when
            neither it nor the dates are given.
        wait: Wait for the outcome; False returns the workflow handle.
        time_zone: The property's reporting time zone.
        start_date: First day, instead of ``days_back``.
        end_date: Last day (inclusive), with ``start_date``.
        notify: Send notifications after saving.
        task_queue: The task queue the workers poll.
        workflow_id: Override the deterministic workflow ID.

    Returns:
        The outcome, or the handle when ``wait`` is False.

    Raises:
        ValueError: the property ID, period or time zone is invalid, or
            ``days_back`` is given with dates.
        TypeError: the property ID is not a string, ``days_back`` not a
            whole number, a date not a ``datetime.date``, ``notify`` or
            ``wait`` not a bool, the time zone, task queue or workflow ID not
            a non-empty string.
        temporalio.client.WorkflowFailureError: the analysis failed.
    """
    numeric_id = validate_property_id(property_id)
    if days_back is not None and (start_date is not None or end_date is not None):
        raise ValueError(
            f"days_back={days_back!r} and start_date/end_date both choose the "
            "period; give days_back alone, or start_date with end_date"
        )
    for name, flag in (("notify", notify), ("wait", wait)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if not isinstance(task_queue, str) or not task_queue:
        raise TypeError(
            f"task_queue must be a task queue name, got {task_queue!r}; the "
            f"workers' default is {DEFAULT_TASK_QUEUE!r}"
        )
    if workflow_id is not None and (
        not isinstance(workflow_id, str) or not workflow_id
    ):
        raise TypeError(
            f"workflow_id must be a non-empty string or None, got {workflow_id!r}"
        )
    today = local_date(datetime.datetime.now(datetime.timezone.utc), time_zone)
    request = AnalysisRequest(
        property_id=numeric_id,
        days_back=7 if days_back is None else days_back,
        start_date=start_date,
        end_date=end_date,
        time_zone=time_zone,
        notify=notify,
    )
    period = resolve_period(request, today=today)
    request = AnalysisRequest(
        property_id=numeric_id,
        start_date=period.start,
        end_date=period.end,
        time_zone=time_zone,
        notify=notify,
    )
    handle = await client.start_workflow(
        ButtonAnalyticsWorkflow.run,
        request,
        id=workflow_id or analysis_workflow_id(numeric_id, period),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    if not wait:
        return handle
    return await handle.result()
