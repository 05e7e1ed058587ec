"""In-memory test doubles for the three ports, for hosts' own tests."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ga4_button_workflows.models import ButtonInsights, ButtonReport, FetchRequest
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.trends import ChangeAlert

__all__ = ["CallbackDataSource", "RecordingNotifier", "StaticDataSource"]


class StaticDataSource:
    """Returns the same report for every request, with the request's period.

    Args:
        report: The report to return.
    """

    def __init__(self, report: ButtonReport) -> None:
        self._report = report
        self.requests: list[FetchRequest] = []
        """Every request received, retries included."""

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """See :class:`~ga4_button_workflows.ports.ButtonDataSource`."""
        self.requests.append(request)
        return attrs.evolve(
            self._report, property_id=request.property_id, period=request.period
        )


class CallbackDataSource:
    """Delegates to a coroutine function, for sources written inside a test.

    Args:
        callback: ``async (request, context) -> ButtonReport``.
    """

    def __init__(
        self,
        callback: Callable[[FetchRequest, FetchContext], object],
    ) -> None:
        self._callback = callback
        self.calls = 0
        """How many times the source was asked, retries included."""

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """See :class:`~ga4_button_workflows.ports.ButtonDataSource`."""
        self.calls += 1
        result = await self._callback(request, context)  # type: ignore[misc]
        assert isinstance(result, ButtonReport)
        return result


class RecordingNotifier:
    """Keeps every notification it receives; can fail its first attempts.

    Args:
        channel: The delivery channel name.
        fail_first: Raise on this many first attempts, to exercise retries.
    """

    def __init__(self, channel: str = "recording", *, fail_first: int = 0) -> None:
        self._channel = channel
        self._failures_left = fail_first
        self.attempts = 0
        """Every call to :meth:`send`, failed ones included."""
        self.sent: list[tuple[str, ButtonInsights]] = []
        """``(analysis_id, insights)`` of each successful delivery."""
        self.alerts: list[ChangeAlert] = []
        """Every change alert delivered."""

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        self.attempts += 1
        if self._failures_left > 0:
            self._failures_left -= 1
            raise ConnectionError(f"{self._channel} is down (planned failure)")
        self.sent.append((analysis_id, insights))

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Record a change alert (see :mod:`ga4_button_workflows.alerts`)."""
        self.alerts.append(alert)
