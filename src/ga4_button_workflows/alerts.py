"""Deliver change alerts through the notifiers, each alert once.

Not pure: :func:`deliver_alerts` reads and writes the store and calls the
notifiers, so it runs in an activity, never in the workflow.

A notifier sends alerts when it has a ``send_alert(alert)`` coroutine method
(:class:`AlertNotifier`); the Slack, webhook, e-mail, console and composite
notifiers do. A notifier without one is skipped for alerts: sending the whole
insights document instead would be the noise alerts exist to avoid.

Once per finding, in two layers:

* across analyses, the store's alert state (``TrendStore.sent_alerts``) says
  which changes were alerted and how large they were; see
  :func:`~ga4_button_workflows.trends.alerts_to_send`. An alert is recorded
  there once every alert-capable notifier has delivered it;
* within one analysis, each notifier's delivery of each alert is recorded as a
  delivery of the analysis (``InsightStore.record_delivery``) under the channel
  name :func:`alert_delivery_channel` gives, so a retried activity skips the
  notifiers already reached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ga4_button_workflows._delivery import combined_failure
from ga4_button_workflows.models import SentAlert
from ga4_button_workflows.ports import InsightStore, Notifier, TrendStore
from ga4_button_workflows.trends import (
    ChangeAlert,
    ChangeFinding,
    TrendConfig,
    alerts_to_send,
    render_alert_text,
)

__all__ = [
    "ALERT_DELIVERY_FAILED",
    "AlertNotifier",
    "alert_delivery_channel",
    "deliver_alerts",
]

logger = logging.getLogger(__name__)

ALERT_DELIVERY_FAILED = "ChangeAlertDeliveryFailed"
"""Error type raised when one or more notifiers failed to deliver an alert."""


@runtime_checkable
class AlertNotifier(Protocol):
    """A notifier that can also deliver change alerts."""

    @property
    def channel(self) -> str:
        """A stable name of the destination, as ``Notifier.channel`` is."""
        ...

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Deliver one alert; raise on failure so the activity retries.

        ``alert.text`` is plain text holding GA4 names as they came: escape it
        for the medium (Slack control sequences, HTML).
        """
        ...


def alert_delivery_channel(alert: ChangeAlert, channel: str) -> str:
    """Return the delivery channel under which one alert to ``channel`` is recorded.

    Recorded against the analysis ID, beside the channels the insights went to.
    It holds the alert's key and its relative change, so a retried activity
    skips what it sent, while a re-run of the analysis over restated data
    sends a change that grew since.
    """
    change = alert.finding.relative_change
    size = "none" if change is None else f"{change:+.6f}"
    return f"alert:{channel}:{alert.key}:{size}"


async def deliver_alerts(
    findings: Sequence[ChangeFinding],
    *,
    property_id: str,
    analysis_id: str,
    store: TrendStore,
    notifiers: Sequence[Notifier | AlertNotifier],
    config: TrendConfig | None = None,
    analysis_url: str | None = None,
) -> list[str]:
    """Send the alerts ``findings`` call for that were not sent before.

    Reads the property's alert state, picks the due alerts with
    :func:`~ga4_button_workflows.trends.alerts_to_send`, sends each through
    every alert-capable notifier not yet reached for this analysis, and records
    an alert in the store once all of them have it. Nothing is sent, and
    nothing is logged above debug level, when nothing is due.

    When ``store`` is not also an
    :class:`~ga4_button_workflows.ports.InsightStore`, deliveries are not
    recorded per notifier: a retry after a partial failure repeats the alert on
    the notifiers that had it.

    Args:
        findings: The analysis' change findings.
        property_id: The numeric GA4 property ID.
        analysis_id: The analysis (workflow) ID the alerts refer to.
        store: Where the alert state is kept.
        notifiers: The worker's notifiers; those without ``send_alert`` are
            skipped.
        config: Trend settings (the worsening margin); the defaults when None.
        analysis_url: A link to the analysis for people, when the host has one.

    Returns:
        The alert keys recorded as sent by this call, in order. Empty when no
        alert was due, or no notifier can send alerts (then nothing is
        recorded, so a notifier added later still gets them).

    Raises:
        ApplicationError: Some notifier failed; the others were still tried.
            Non-retryable only when every failure was. Alerts a notifier
            missed are not recorded, so a retry sends them again.
    """
    due = alerts_to_send(findings, await store.sent_alerts(property_id), config=config)
    if not due:
        logger.debug("No change alert due for property %s", property_id)
        return []
    capable = [
        notifier for notifier in notifiers if isinstance(notifier, AlertNotifier)
    ]
    if not capable:
        logger.warning(
            "%d change alerts for property %s, but no notifier can send alerts "
            "(none has a send_alert method); nothing was sent",
            len(due),
            property_id,
        )
        return []
    deliveries = store if isinstance(store, InsightStore) else None

    recorded: list[str] = []
    failures: list[tuple[str, Exception]] = []
    for key, finding in due:
        alert = ChangeAlert(
            key=key,
            property_id=property_id,
            analysis_id=analysis_id,
            finding=finding,
            text=render_alert_text(
                finding,
                property_id=property_id,
                analysis_id=analysis_id,
                analysis_url=analysis_url,
            ),
            analysis_url=analysis_url,
        )
        missed = False
        for notifier in capable:
            marker = alert_delivery_channel(alert, notifier.channel)
            if deliveries is not None and await deliveries.has_delivery(
                analysis_id, marker
            ):
                continue
            try:
                await notifier.send_alert(alert)
            except Exception as error:  # the other notifiers still get the alert
                logger.warning(
                    "Change alert to %s failed: %s",
                    notifier.channel,
                    type(error).__name__,
                )
                failures.append((f"{notifier.channel} ({finding.label})", error))
                missed = True
                continue
            if deliveries is not None:
                await deliveries.record_delivery(analysis_id, marker)
        if missed:
            continue
        await store.record_alert(property_id, key, SentAlert.of(finding, analysis_id))
        recorded.append(key)
        logger.info(
            "Sent the %s alert of property %s (analysis %s)",
            finding.direction.value,
            property_id,
            analysis_id,
        )
    if failures:
        raise combined_failure(
            failures,
            message=f"{len(failures)} change alert deliveries failed",
            error_type=ALERT_DELIVERY_FAILED,
        )
    return recorded
