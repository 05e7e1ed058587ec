"""An insight store that keeps everything in memory, for tests and demos."""

from __future__ import annotations

import asyncio

from ga4_button_workflows.models import AnalysisRecord

__all__ = ["MemoryInsightStore"]


class MemoryInsightStore:
    """Keeps analyses and deliveries in dictionaries; nothing survives the process.

    Safe to share between concurrent activities of one worker.
    """

    def __init__(self) -> None:
        self._analyses: dict[str, AnalysisRecord] = {}
        self._deliveries: set[tuple[str, str]] = set()
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

    async def has_delivery(self, analysis_id: str, channel: str) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        return (analysis_id, channel) in self._deliveries

    async def record_delivery(self, analysis_id: str, channel: str) -> None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        self._deliveries.add((analysis_id, channel))
