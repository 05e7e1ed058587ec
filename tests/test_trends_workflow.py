"""Change findings and alerts through the whole workflow on a real dev server."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

import attrs
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ga4_button_workflows import (
    AnalysisOutcome,
    AnalysisRequest,
    BranchStatus,
    ButtonAnalyticsPlugin,
    ButtonAnalyticsWorkflow,
    ButtonReport,
    FetchRequest,
    Period,
)
from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.models import ButtonCounts, ChangeDirection
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.render import render_text
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.testing.doubles import CallbackDataSource, RecordingNotifier
from ga4_button_workflows.trends import comparable_series, previous_period_of

DAY_1 = datetime.date(2026, 10, 1)
DROP_FROM = DAY_1 + datetime.timedelta(days=21)  # the last 7 of 28 days
USERS_PER_DAY = 400
RATES = {"cta": 0.10, "navigation": 0.12, "feature_card": 0.05}
VARIANTS = ("original", "colors")


def _from_drop_day(day: datetime.date) -> bool:
    return day >= DROP_FROM


def _report(
    request: FetchRequest, dropped: Callable[[datetime.date], bool] = _from_drop_day
) -> ButtonReport:
    """Expected counts, no noise: only the planted drop on the ``dropped`` days
    can change."""
    builder = ReportBuilder(
        ORIGINAL_LANDING_PAGE, property_id=request.property_id, period=request.period
    )
    days = request.period.days
    for variant in VARIANTS:
        exposed = USERS_PER_DAY * days
        builder.add_row(
            event_name="page_view",
            button=None,
            variant=variant,
            event_count=exposed,
            users=exposed,
        )
        for button, rate in RATES.items():
            clicks = 0
            for offset in range(days):
                day = request.period.start + datetime.timedelta(days=offset)
                planted = button == "cta" and variant == "colors" and dropped(day)
                clicks += round(USERS_PER_DAY * rate * (0.7 if planted else 1.0))
            builder.add_row(
                event_name={"cta": "cta_click", "navigation": "navigation_click"}.get(
                    button, "feature_click"
                ),
                button="cta" if button == "cta" else None,
                variant=variant,
                event_count=clicks,
                users=clicks,
                duration_ms=clicks * 800.0,
            )
    return builder.build()


async def _analyse(
    client: Client, task_queue: str, plugin: ButtonAnalyticsPlugin, first: datetime.date
) -> AnalysisOutcome:
    async with Worker(client, task_queue=task_queue, plugins=[plugin]):
        return await client.execute_workflow(
            ButtonAnalyticsWorkflow.run,
            AnalysisRequest(
                property_id="31337",
                start_date=first,
                end_date=first + datetime.timedelta(days=6),
            ),
            id=f"wf-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )


async def test_planted_drop_is_found_and_alerted_once(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        return _report(request)

    store = MemoryInsightStore()
    notifier = RecordingNotifier()
    plugin = ButtonAnalyticsPlugin(
        source=CallbackDataSource(fetch), store=store, notifier=notifier
    )
    client = dev_env.client

    before = await _analyse(
        client, task_queue, plugin, DROP_FROM - datetime.timedelta(7)
    )
    after = await _analyse(client, task_queue, plugin, DROP_FROM)
    again = await _analyse(client, task_queue, plugin, DROP_FROM)

    assert before.insights.changes == ()  # no stored baseline before it
    assert before.insights.changes_since is None  # ... and it does not claim one
    assert before.alerted.status is BranchStatus.SKIPPED
    (finding,) = after.insights.changes  # unchanged buttons are no finding
    assert after.insights.changes_since == Period(
        DROP_FROM - datetime.timedelta(7), DROP_FROM - datetime.timedelta(1)
    )
    assert (finding.button, finding.variant) == ("cta", "colors")
    assert finding.direction is ChangeDirection.DROP
    assert finding.alert
    assert abs((finding.relative_change or 0.0) + 0.3) < 0.01
    assert after.alerted.status is BranchStatus.DONE
    assert any(
        text.startswith("⚠️ Click-through dropped")
        for text in after.insights.recommendations
    )
    # The same drop on the next run is found again but not alerted again.
    assert again.insights.changes[0].alert
    assert again.alerted.status is BranchStatus.ALREADY_DONE
    assert [alert.finding.label for alert in notifier.alerts] == ["cta on colors"]


async def test_a_custom_source_with_raw_names_alerts_with_clean_names(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A host's source that skips the normalising gets clean names in alerts."""
    hostile = "cta\n📈 FAKE LINE: all good \x1b[31m\u202e"

    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        report = _report(request)
        return attrs.evolve(
            report,
            counts=tuple(
                attrs.evolve(row, button=hostile) if row.button == "cta" else row
                for row in report.counts
            ),
        )

    notifier = RecordingNotifier()
    plugin = ButtonAnalyticsPlugin(
        source=CallbackDataSource(fetch), store=MemoryInsightStore(), notifier=notifier
    )

    await _analyse(
        dev_env.client, task_queue, plugin, DROP_FROM - datetime.timedelta(7)
    )
    after = await _analyse(dev_env.client, task_queue, plugin, DROP_FROM)

    (alert,) = notifier.alerts
    assert alert.finding.button == "cta 📈 FAKE LINE: all good [31m"
    assert {m.button for m in after.insights.buttons} >= {alert.finding.button}
    for forbidden in ("\x1b", "\u202e", "\n📈"):
        assert forbidden not in alert.text


async def test_a_drop_that_recovered_and_came_back_is_alerted_again(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Weekly analyses of four weeks; the drop is in the second and the fourth."""
    weeks = [DAY_1 + datetime.timedelta(weeks=n) for n in range(4)]

    def dropped(day: datetime.date) -> bool:
        return weeks[1] <= day < weeks[2] or day >= weeks[3]

    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        return _report(request, dropped)

    notifier = RecordingNotifier()
    plugin = ButtonAnalyticsPlugin(
        source=CallbackDataSource(fetch), store=MemoryInsightStore(), notifier=notifier
    )

    outcomes = [
        await _analyse(dev_env.client, task_queue, plugin, first) for first in weeks
    ]
    repeat = await _analyse(dev_env.client, task_queue, plugin, weeks[3])

    assert [
        [(f.label, f.direction, f.alert) for f in outcome.insights.changes]
        for outcome in outcomes
    ] == [
        [],
        [("cta on colors", ChangeDirection.DROP, True)],
        [("cta on colors", ChangeDirection.RISE, True)],
        [("cta on colors", ChangeDirection.DROP, True)],
    ]
    assert [
        (a.finding.direction, a.finding.current_period) for a in notifier.alerts
    ] == [
        (ChangeDirection.DROP, Period(weeks[1], weeks[2] - datetime.timedelta(1))),
        (ChangeDirection.RISE, Period(weeks[2], weeks[3] - datetime.timedelta(1))),
        (ChangeDirection.DROP, Period(weeks[3], weeks[3] + datetime.timedelta(6))),
    ]
    assert repeat.alerted.status is BranchStatus.ALREADY_DONE


async def test_a_baseline_with_nothing_comparable_claims_no_comparison(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The previous period has only other buttons, or too few users."""

    async def fetch(request: FetchRequest, context: FetchContext) -> ButtonReport:
        report = _report(request)
        return attrs.evolve(
            report,
            previous_period=previous_period_of(request.period),
            previous_counts=(
                ButtonCounts(
                    button="retired",
                    variant="original",
                    exposed_users=5000,
                    clicking_users=400,
                ),
                ButtonCounts(
                    button="cta",
                    variant="original",
                    exposed_users=20,
                    clicking_users=2,
                ),
            ),
        )

    plugin = ButtonAnalyticsPlugin(
        source=CallbackDataSource(fetch), store=MemoryInsightStore()
    )

    outcome = await _analyse(dev_env.client, task_queue, plugin, DROP_FROM)

    assert outcome.insights.changes == ()
    assert outcome.insights.changes_since is None
    assert "No significant click-through change" not in render_text(outcome.insights)


def test_comparable_series_counts_those_with_enough_data_in_both_periods() -> None:
    def counts(button: str, exposed: int, clicking: int) -> ButtonCounts:
        return ButtonCounts(
            button=button,
            variant="original",
            exposed_users=exposed,
            clicking_users=clicking,
        )

    current = [counts("cta", 900, 60), counts("nav", 900, 60), counts("new", 900, 60)]
    previous = [counts("cta", 900, 70), counts("nav", 20, 2), counts("old", 900, 60)]

    assert comparable_series(current, previous) == 1
    assert comparable_series(current, []) == 0
