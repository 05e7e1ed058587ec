"""Daily analyses on Temporal Schedules: create or update, pause, backfill.

A scheduled run takes its period from the ``TemporalScheduledStartTime``
search attribute Temporal sets on it, never from the wall clock: a run
scheduled for 7 March at 06:00 analyses the ``days_back`` days before
7 March, however late it actually starts, and a backfill analyses the days it
covers.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from ga4_button_workflows.models import (
    GA4_HISTORY_LIMIT_DAYS,
    AnalysisRequest,
    local_date,
    validate_property_id,
)
from ga4_button_workflows.names import DEFAULT_TASK_QUEUE
from ga4_button_workflows.workflow import ButtonAnalyticsWorkflow

__all__ = [
    "backfill_daily_schedule",
    "daily_schedule_id",
    "delete_daily_schedule",
    "describe_daily_schedule",
    "ensure_daily_schedule",
    "list_daily_schedules",
    "pause_daily_schedule",
    "resume_daily_schedule",
]

_SCHEDULE_PREFIX = "button-analysis-daily-"


def daily_schedule_id(property_id: str) -> str:
    """Return the schedule ID of the property's daily analysis."""
    return _SCHEDULE_PREFIX + validate_property_id(property_id)


def _daily_schedule(
    property_id: str,
    *,
    hour: int,
    minute: int,
    time_zone: str,
    days_back: int,
    task_queue: str,
    notify: bool,
    paused: bool,
) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(
                property_id=property_id,
                days_back=days_back,
                time_zone=time_zone,
                notify=notify,
            ),
            # Temporal appends each run's scheduled time to this ID.
            id=f"button-analysis-{property_id}-daily",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)]
                )
            ],
            time_zone_name=time_zone,
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=datetime.timedelta(days=1),
        ),
        state=ScheduleState(
            paused=paused,
            note=f"daily button analysis of GA4 property {property_id}",
        ),
    )


async def ensure_daily_schedule(
    client: Client,
    property_id: str,
    *,
    hour: int,
    minute: int = 0,
    time_zone: str,
    days_back: int = 1,
    task_queue: str = DEFAULT_TASK_QUEUE,
    notify: bool = True,
) -> ScheduleHandle:
    """Create the property's daily analysis, or update it to these settings.

    Calling it twice leaves one schedule with the second call's settings.

    Args:
        client: A connected client (with the plugin or its converter).
        property_id: The numeric GA4 property ID.
        hour: Hour of day (0-23) in ``time_zone`` to run at.
        minute: Minute of the hour.
        time_zone: The property's reporting time zone (IANA name); the run
            time and the analysed days are both in it.
        days_back: Complete days each run analyses, ending the day before the
            run.
        task_queue: The task queue the workers poll.
        notify: Send notifications after each analysis.

    Raises:
        ValueError: a setting is out of range; the message names it.
    """
    numeric_id = validate_property_id(property_id)
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be between 0 and 23, not {hour}")
    if not 0 <= minute <= 59:
        raise ValueError(f"minute must be between 0 and 59, not {minute}")
    if not 1 <= days_back <= GA4_HISTORY_LIMIT_DAYS:
        raise ValueError(
            f"days_back must be between 1 and {GA4_HISTORY_LIMIT_DAYS}, not {days_back}"
        )
    local_date(datetime.datetime.now(datetime.timezone.utc), time_zone)

    schedule_id = daily_schedule_id(numeric_id)
    handle = client.get_schedule_handle(schedule_id)
    try:
        existing: ScheduleDescription | None = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        existing = None
    schedule = _daily_schedule(
        numeric_id,
        hour=hour,
        minute=minute,
        time_zone=time_zone,
        days_back=days_back,
        task_queue=task_queue,
        notify=notify,
        paused=bool(existing and existing.schedule.state.paused),
    )
    if existing is None:
        try:
            return await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            pass  # created concurrently: fall through to the update

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await handle.update(replace)
    return handle


async def describe_daily_schedule(
    client: Client, property_id: str
) -> ScheduleDescription:
    """Return Temporal's description of the property's daily schedule."""
    return await client.get_schedule_handle(daily_schedule_id(property_id)).describe()


async def list_daily_schedules(client: Client) -> list[str]:
    """Return the IDs of every daily button-analysis schedule."""
    return [
        listed.id
        async for listed in await client.list_schedules()
        if listed.id.startswith(_SCHEDULE_PREFIX)
    ]


async def pause_daily_schedule(
    client: Client, property_id: str, *, note: str = "paused"
) -> None:
    """Pause the property's daily analysis."""
    await client.get_schedule_handle(daily_schedule_id(property_id)).pause(note=note)


async def resume_daily_schedule(
    client: Client, property_id: str, *, note: str = "resumed"
) -> None:
    """Resume the property's paused daily analysis."""
    await client.get_schedule_handle(daily_schedule_id(property_id)).unpause(note=note)


async def delete_daily_schedule(client: Client, property_id: str) -> None:
    """Delete the property's daily schedule; running analyses go on."""
    await client.get_schedule_handle(daily_schedule_id(property_id)).delete()


async def backfill_daily_schedule(
    client: Client,
    property_id: str,
    *,
    first_day: datetime.date,
    last_day: datetime.date,
) -> list[datetime.date]:
    """Run the daily analysis as if it had run for each day in a range.

    With ``days_back=1`` each run analyses one of the days from ``first_day``
    to ``last_day``; each run's period comes from its scheduled time, so the
    analysed days are exactly those. The runs are buffered and start one after
    another, never side by side.

    Returns:
        The days whose runs were requested.

    Raises:
        ValueError: ``last_day`` is before ``first_day`` or not over yet in
            the schedule's time zone, the range is longer than
            :data:`~ga4_button_workflows.models.GA4_HISTORY_LIMIT_DAYS`, or the
            schedule has no daily time of day.
    """
    if last_day < first_day:
        raise ValueError(f"last_day {last_day} is before first_day {first_day}")
    if (last_day - first_day).days + 1 > GA4_HISTORY_LIMIT_DAYS:
        raise ValueError(
            f"{first_day}..{last_day} is {(last_day - first_day).days + 1} days; "
            f"backfill at most {GA4_HISTORY_LIMIT_DAYS} days at a time"
        )
    handle = client.get_schedule_handle(daily_schedule_id(property_id))
    description = await handle.describe()
    spec = description.schedule.spec
    hour, minute = _time_of_day(spec.calendars)
    zone = zoneinfo.ZoneInfo(spec.time_zone_name or "UTC")
    today = datetime.datetime.now(zone).date()
    if last_day >= today:
        raise ValueError(
            f"last_day {last_day} is not over yet in {zone.key} (today is "
            f"{today}); backfill complete days, up to "
            f"{today - datetime.timedelta(days=1)}, and let the schedule run "
            "the rest"
        )
    # A run at day D analyses the days before D.
    start = datetime.datetime.combine(
        first_day + datetime.timedelta(days=1), datetime.time(hour, minute), zone
    )
    end = datetime.datetime.combine(
        last_day + datetime.timedelta(days=1), datetime.time(hour, minute), zone
    )
    await handle.backfill(
        ScheduleBackfill(
            start_at=start - datetime.timedelta(seconds=1),
            end_at=end + datetime.timedelta(seconds=1),
            # One run at a time: a long backfill must not open hundreds of
            # concurrent GA4 requests against the property's quota.
            overlap=ScheduleOverlapPolicy.BUFFER_ALL,
        )
    )
    days = (last_day - first_day).days + 1
    return [first_day + datetime.timedelta(days=n) for n in range(days)]


def _time_of_day(calendars: Sequence[ScheduleCalendarSpec]) -> tuple[int, int]:
    try:
        calendar = calendars[0]
        return calendar.hour[0].start, calendar.minute[0].start
    except IndexError:
        raise ValueError(
            "the schedule has no daily time of day; recreate it with "
            "ensure_daily_schedule"
        ) from None
