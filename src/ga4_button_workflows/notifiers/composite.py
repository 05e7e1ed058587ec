"""A notifier that sends to several others, remembering which ones succeeded.

The notification activity already takes a list of notifiers and records a
delivery per analysis and channel, so a worker rarely needs this class: pass
the list instead. The composite is for places that accept exactly one
notifier. It keeps the same guarantee on its own: each child's delivery is
recorded under the child's channel (in ``store`` when given, else in this
object's memory), so a retried send repeats only the children that failed.
Change alerts go to the children that can send them, with the same guarantee.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ga4_button_workflows._delivery import combined_failure
from ga4_button_workflows.alerts import AlertNotifier, alert_delivery_channel
from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.ports import InsightStore, Notifier, as_notifiers
from ga4_button_workflows.trends import ChangeAlert

__all__ = ["NOTIFICATION_FAILED", "CompositeNotifier"]

logger = logging.getLogger(__name__)

NOTIFICATION_FAILED = "CompositeNotificationFailed"
"""Error type raised when one or more children failed."""


class CompositeNotifier:
    """Sends to each child notifier in turn; a failing child does not stop the rest.

    After every child was tried, the send raises one ``ApplicationError`` that
    lists the failed channels. It is non-retryable only when every failure
    was, and asks for the longest retry delay any child asked for.

    Args:
        notifiers: The children; their channel names must differ.
        channel: This notifier's own channel name; by default
            ``composite(<child channels>)``.
        store: Where children's deliveries are recorded, so that a retry in
            another worker process skips them too. Without it, they are
            remembered by this object only.

    Raises:
        ValueError: No children, or two children share a channel name.
    """

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        *,
        channel: str | None = None,
        store: InsightStore | None = None,
    ) -> None:
        children = as_notifiers(list(notifiers))
        if not children:
            raise ValueError("CompositeNotifier needs at least one notifier")
        self._notifiers = tuple(children)
        self._channel = channel or (
            "composite(" + ",".join(child.channel for child in children) + ")"
        )
        self._store = store
        self._delivered: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"CompositeNotifier({list(self._notifiers)!r})"

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    @property
    def notifiers(self) -> tuple[Notifier, ...]:
        """The children, in sending order."""
        return self._notifiers

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """Send through every child not yet reached for ``analysis_id``.

        Raises:
            ApplicationError: One or more children failed; the message lists
                them.
        """
        failures: list[tuple[str, Exception]] = []
        for child in self._notifiers:
            if await self._has_delivery(analysis_id, child.channel):
                logger.info(
                    "Skipping %s: analysis %s was already delivered there",
                    child.channel,
                    analysis_id,
                )
                continue
            try:
                await child.send(insights, analysis_id=analysis_id)
            except Exception as error:  # the other children still go out
                failures.append((child.channel, error))
                continue
            await self._record_delivery(analysis_id, child.channel)
        if failures:
            raise combined_failure(
                failures,
                message=f"{len(failures)} of the composite's notifiers failed",
                error_type=NOTIFICATION_FAILED,
            )

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Send the alert through every alert-capable child not yet reached.

        Children without ``send_alert`` are skipped.

        Raises:
            ApplicationError: One or more children failed; the message lists
                them.
        """
        failures: list[tuple[str, Exception]] = []
        for child in self._notifiers:
            if not isinstance(child, AlertNotifier):
                continue
            marker = alert_delivery_channel(alert, child.channel)
            if await self._has_delivery(alert.analysis_id, marker):
                continue
            try:
                await child.send_alert(alert)
            except Exception as error:  # the other children still go out
                failures.append((child.channel, error))
                continue
            await self._record_delivery(alert.analysis_id, marker)
        if failures:
            raise combined_failure(
                failures,
                message=f"{len(failures)} of the composite's notifiers failed",
                error_type=NOTIFICATION_FAILED,
            )

    async def _has_delivery(self, analysis_id: str, channel: str) -> bool:
        if self._store is not None:
            return await self._store.has_delivery(analysis_id, channel)
        return (analysis_id, channel) in self._delivered

    async def _record_delivery(self, analysis_id: str, channel: str) -> None:
        if self._store is not None:
            await self._store.record_delivery(analysis_id, channel)
        else:
            self._delivered.add((analysis_id, channel))
