"""``ButtonAnalyticsWorkflow``: fetch, measure, conclude, then save and notify.

This module runs inside Temporal's workflow sandbox. It imports only the
standard library, temporalio and the library's pure model modules; the GA4
client, SQL and HTTP libraries never load here. Activities are called by their
registered names, so the activity implementations are never imported.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
)
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    import attrs

    from ga4_button_workflows import names
    from ga4_button_workflows.models import (
        AnalysisOutcome,
        AnalysisRequest,
        BranchOutcome,
        BranchStatus,
        ButtonInsights,
        ButtonReport,
        ChangeAlertsRequest,
        FetchRequest,
        MetricsReport,
        NotificationRequest,
        Period,
        PropertiesRequest,
        PropertyResult,
        SaveRequest,
        StepProgress,
        local_date,
        resolve_period,
        validate_property_id,
    )

__all__ = ["ButtonAnalyticsWorkflow", "PropertiesAnalyticsWorkflow", "StepPolicy"]

SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by Temporal on runs started by a schedule, backfills included."""

INVALID_REQUEST = "InvalidAnalysisRequest"
"""The ``ApplicationError`` type of a request the workflow refuses."""


class StepPolicy:
    """Timeouts and retries of each step, as the workflow uses them.

    GA4's hourly token quota can take up to an hour to refill, so the fetch
    may wait that long between attempts (the data source sets the delay) and
    is given six hours in all. Pure steps fail fast: retrying deterministic
    code rarely helps.
    """

    FETCH_START_TO_CLOSE = timedelta(minutes=30)
    """Longest a single fetch attempt may run."""
    FETCH_SCHEDULE_TO_CLOSE = timedelta(hours=6)
    """Longest the fetch may take with all its retries (an hourly quota refill)."""
    FETCH_HEARTBEAT = timedelta(minutes=2)
    """Default heartbeat timeout of the fetch; see
    ``AnalysisRequest.fetch_heartbeat_timeout_s``."""
    FETCH_RETRY = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=12,
    )
    """Retries of the fetch; a quota error sets its own, longer delay."""
    COMPUTE_START_TO_CLOSE = timedelta(minutes=5)
    """Longest the metrics or insights step may run."""
    COMPUTE_RETRY = RetryPolicy(
        initial_interval=timedelta(seconds=1), maximum_attempts=3
    )
    """Retries of the pure steps: few, since deterministic code fails again."""
    DELIVERY_START_TO_CLOSE = timedelta(minutes=2)
    """Longest one save, notification or alert attempt may run."""
    DELIVERY_SCHEDULE_TO_CLOSE = timedelta(minutes=30)
    """Longest a save, notification or alert may take with its retries."""
    DELIVERY_RETRY = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=10,
    )
    """Retries of saving, notifying and alerting."""


@workflow.defn(name=names.WORKFLOW_TYPE)
class ButtonAnalyticsWorkflow:
    """Analyse one GA4 property's button interactions over one period.

    Query ``progress`` for the steps finished so far.
    """

    def __init__(self) -> None:
        self._progress: list[StepProgress] = []

    @workflow.query
    def progress(self) -> list[StepProgress]:
        """The steps finished so far, oldest first."""
        return list(self._progress)

    @workflow.run
    async def run(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Run the analysis and return what each step did."""
        property_id, period = self._validate(request)
        info = workflow.info()
        analysis_id = info.workflow_id
        workflow.logger.info("Analysing GA4 property %s over %s", property_id, period)

        report = await workflow.execute_activity(
            names.FETCH_GA4_DATA,
            FetchRequest(
                property_id=property_id,
                period=period,
                time_zone=request.time_zone,
                source_name=request.source_name,
            ),
            result_type=ButtonReport,
            start_to_close_timeout=StepPolicy.FETCH_START_TO_CLOSE,
            schedule_to_close_timeout=StepPolicy.FETCH_SCHEDULE_TO_CLOSE,
            heartbeat_timeout=(
                StepPolicy.FETCH_HEARTBEAT
                if request.fetch_heartbeat_timeout_s is None
                else timedelta(seconds=request.fetch_heartbeat_timeout_s)
            ),
            retry_policy=StepPolicy.FETCH_RETRY,
            # A cancelled analysis ends only once the fetch has stopped.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        self._done(
            "fetch_ga4_data",
            f"{report.rows_read} rows in {report.pages_fetched} pages, "
            f"{len(report.counts)} button x variant entries",
        )
        if request.control_variant:
            report = _with_control(report, request.control_variant)

        metrics = await workflow.execute_activity(
            names.PROCESS_BUTTON_METRICS,
            report,
            result_type=MetricsReport,
            start_to_close_timeout=StepPolicy.COMPUTE_START_TO_CLOSE,
            retry_policy=StepPolicy.COMPUTE_RETRY,
        )
        self._done(
            "process_button_metrics",
            f"{len(metrics.buttons)} buttons, {len(metrics.comparisons)} comparisons",
        )

        insights = await workflow.execute_activity(
            names.GENERATE_BUTTON_INSIGHTS,
            metrics,
            result_type=ButtonInsights,
            start_to_close_timeout=StepPolicy.COMPUTE_START_TO_CLOSE,
            retry_policy=StepPolicy.COMPUTE_RETRY,
        )
        self._done(
            "generate_button_insights",
            f"{len(insights.recommendations)} recommendations",
        )

        branches = [
            self._save(analysis_id, info.workflow_id, info.run_id, insights),
            self._notify(analysis_id, insights, wanted=request.notify),
        ]
        # Histories recorded before change alerts existed replay without them.
        if workflow.patched("change-alerts"):
            branches.append(
                self._alert(analysis_id, property_id, insights, wanted=request.notify)
            )
        saved, notified, *alerted = await asyncio.gather(*branches)
        return AnalysisOutcome(
            analysis_id=analysis_id,
            property_id=property_id,
            period=period,
            insights=insights,
            saved=saved,
            notified=notified,
            rows_read=report.rows_read,
            pages_fetched=report.pages_fetched,
            alerted=alerted[0]
            if alerted
            else BranchOutcome(
                status=BranchStatus.SKIPPED, detail="recorded before change alerts"
            ),
        )

    def _validate(self, request: AnalysisRequest) -> tuple[str, Period]:
        try:
            _check_heartbeat(request.fetch_heartbeat_timeout_s)
            property_id = validate_property_id(request.property_id)
            today = local_date(self._anchor_time(), request.time_zone)
            period = resolve_period(request, today=today)
        except (ValueError, TypeError) as error:
            # A plain exception would fail the workflow task and retry forever.
            raise ApplicationError(
                str(error), type=INVALID_REQUEST, non_retryable=True
            ) from None
        return property_id, period

    def _anchor_time(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START_TIME)
        return scheduled or workflow.now()

    async def _save(
        self, analysis_id: str, workflow_id: str, run_id: str, insights: ButtonInsights
    ) -> BranchOutcome:
        outcome = await self._branch(
            names.SAVE_INSIGHTS_TO_DATABASE,
            SaveRequest(
                analysis_id=analysis_id,
                workflow_id=workflow_id,
                run_id=run_id,
                insights=insights,
            ),
        )
        self._done("save_insights_to_database", outcome.status.value)
        return outcome

    async def _notify(
        self, analysis_id: str, insights: ButtonInsights, *, wanted: bool
    ) -> BranchOutcome:
        if not wanted:
            outcome = BranchOutcome(status=BranchStatus.SKIPPED, detail="not requested")
        else:
            outcome = await self._branch(
                names.SEND_INSIGHTS_NOTIFICATION,
                NotificationRequest(analysis_id=analysis_id, insights=insights),
            )
        self._done("send_insights_notification", outcome.status.value)
        return outcome

    async def _alert(
        self,
        analysis_id: str,
        property_id: str,
        insights: ButtonInsights,
        *,
        wanted: bool,
    ) -> BranchOutcome:
        if not wanted:
            return BranchOutcome(status=BranchStatus.SKIPPED, detail="not requested")
        if not any(finding.alert for finding in insights.changes):
            return BranchOutcome(
                status=BranchStatus.SKIPPED, detail="no change to alert"
            )
        outcome = await self._branch(
            names.SEND_CHANGE_ALERTS,
            ChangeAlertsRequest(
                analysis_id=analysis_id,
                property_id=property_id,
                changes=insights.changes,
            ),
        )
        self._done("send_change_alerts", outcome.status.value)
        return outcome

    async def _branch(self, activity_name: str, argument: object) -> BranchOutcome:
        try:
            outcome: BranchOutcome = await workflow.execute_activity(
                activity_name,
                argument,
                result_type=BranchOutcome,
                start_to_close_timeout=StepPolicy.DELIVERY_START_TO_CLOSE,
                schedule_to_close_timeout=StepPolicy.DELIVERY_SCHEDULE_TO_CLOSE,
                retry_policy=StepPolicy.DELIVERY_RETRY,
            )
        except ActivityError as error:
            reason = _root_cause(error)
            workflow.logger.warning("%s failed: %s", activity_name, reason)
            return BranchOutcome(status=BranchStatus.FAILED, detail=reason)
        return outcome

    def _done(self, step: str, detail: str) -> None:
        self._progress.append(
            StepProgress(step=step, finished_at=workflow.now(), detail=detail)
        )


def _check_heartbeat(seconds: float | None) -> None:
    if seconds is not None and not 1 <= seconds <= 3600:
        raise ValueError(
            f"fetch_heartbeat_timeout_s must be between 1 and 3600 seconds, "
            f"not {seconds}"
        )


def _root_cause(error: BaseException) -> str:
    """The message of the innermost cause: what actually went wrong."""
    while isinstance(error, FailureError) and error.cause is not None:
        error = error.cause
    return str(error)


def _with_control(report: ButtonReport, control_variant: str) -> ButtonReport:
    return attrs.evolve(report, control_variant=control_variant)


@workflow.defn(name=names.PROPERTIES_WORKFLOW_TYPE)
class PropertiesAnalyticsWorkflow:
    """Analyse several GA4 properties through child workflows.

    At most ``max_concurrent`` children run at once; one property's failure is
    reported in its result and does not sink the others.
    """

    @workflow.run
    async def run(self, request: PropertiesRequest) -> list[PropertyResult]:
        """Run one child analysis per property and collect their results."""
        if not request.property_ids:
            raise ApplicationError(
                "property_ids is empty; give at least one numeric GA4 property ID",
                type=INVALID_REQUEST,
                non_retryable=True,
            )
        if request.max_concurrent < 1:
            raise ApplicationError(
                f"max_concurrent must be at least 1, not {request.max_concurrent}",
                type=INVALID_REQUEST,
                non_retryable=True,
            )
        slots = asyncio.Semaphore(request.max_concurrent)
        return list(
            await asyncio.gather(
                *(
                    self._analyse(property_id, request, slots)
                    for property_id in request.property_ids
                )
            )
        )

    async def _analyse(
        self, property_id: str, request: PropertiesRequest, slots: asyncio.Semaphore
    ) -> PropertyResult:
        child_id = f"{workflow.info().workflow_id}/{property_id}"
        child_request = AnalysisRequest(
            property_id=property_id,
            days_back=request.days_back,
            start_date=request.start_date,
            end_date=request.end_date,
            report_date=request.report_date or self._report_date(request.time_zone),
            time_zone=request.time_zone,
            notify=request.notify,
        )
        async with slots:
            try:
                outcome = await workflow.execute_child_workflow(
                    ButtonAnalyticsWorkflow.run, child_request, id=child_id
                )
            except ChildWorkflowError as error:
                return PropertyResult(
                    property_id=property_id,
                    succeeded=False,
                    error=_root_cause(error),
                    workflow_id=child_id,
                )
        return PropertyResult(
            property_id=property_id,
            succeeded=True,
            outcome=outcome,
            workflow_id=child_id,
        )

    def _report_date(self, time_zone: str) -> date | None:
        # Children inherit no search attributes: pin the parent's day for them.
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START_TIME)
        try:
            return local_date(scheduled or workflow.now(), time_zone)
        except ValueError:
            return None  # each child reports the bad time zone itself
