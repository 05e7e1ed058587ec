"""An insight store that keeps everything in memory, for tests and demos."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence

from ga4_button_workflows.models import AnalysisRecord, DailyCounts, Period, SentAlert
from ga4_button_workflows.stores._sent import checked_sent_alert

__all__ = ["MemoryInsightStore"]


class MemoryInsightStore:
    """Keeps analyses, deliveries, daily rows and alerts in dictionaries.

    Nothing survives the process.

    Safe to share between concurrent activities of one worker.
    """

    def __init__(self) -> None:
        self._analyses: dict[str, AnalysisRecord] = {}
        self._deliveries: set[tuple[str, str]] = set()
        self._daily: dict[tuple[str, datetime.date, str, str], DailyCounts] = {}
        self._alerts: dict[str, dict[str, SentAlert]] = {}
        self._lock = asyncio.Lock()
        self.save_calls = 0
        """How many times :meth:`save_analysis` ran, retries included."""

    @property
    def analyses(self) -> list[AnalysisRecord]:
        """Every analysis, oldest save first."""
        return sorted(self._analyses.values(), key=lambda record: record.saved_at)

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        async with self._lock:
            self.save_calls += 1
            is_new = record.analysis_id not in self._analyses
            self._analyses[record.analysis_id] = record
            return is_new

    async def get_analysis(self, analysis_id: str) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        return self._analyses.get(analysis_id)

    async def latest_analysis(
        self, property_id: str | None = None
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        matching = [
            record
            for record in self.analyses
            if property_id is None or record.property_id == property_id
        ]
        return matching[-1] if matching else None

    async def analysis_for_period(
        self, property_id: str, period: Period
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        matching = [
            record
            for record in self.analyses
            if record.property_id == property_id and record.period == period
        ]
        return matching[-1] if matching else None

    async def has_delivery(self, analysis_id: str, channel: str) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        return (analysis_id, channel) in self._deliveries

    async def record_delivery(self, analysis_id: str, channel: str) -> None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        self._deliveries.add((analysis_id, channel))

    async def save_daily(self, property_id: str, rows: Sequence[DailyCounts]) -> None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        async with self._lock:
            for row in rows:
                self._daily[property_id, row.date, row.button, row.variant] = row

    async def daily_history(
        self, property_id: str, *, start: datetime.date, end: datetime.date
    ) -> list[DailyCounts]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        return [
            self._daily[key]
            for key in sorted(self._daily)
            if key[0] == property_id and start <= key[1] <= end
        ]

    async def sent_alerts(self, property_id: str) -> dict[str, SentAlert]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        return dict(self._alerts.get(property_id, {}))

    async def record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        checked = checked_sent_alert(sent)
        async with self._lock:
            self._alerts.setdefault(property_id, {})[key] = checked
