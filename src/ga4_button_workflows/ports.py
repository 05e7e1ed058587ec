"""The three ports a host plugs into: a data source, an insight store, a notifier.

Each is a :class:`typing.Protocol`: any object with these methods works, no
subclassing needed. All methods are coroutines, because they run inside
asyncio activities; wrap blocking work in :func:`asyncio.to_thread`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonInsights,
    ButtonReport,
    DailyCounts,
    FetchRequest,
    Period,
    SentAlert,
)

__all__ = ["ButtonDataSource", "FetchContext", "InsightStore", "Notifier", "TrendStore"]

_StateT = TypeVar("_StateT")


class FetchContext:
    """What the fetch activity lends a data source: checkpoints and liveness.

    A source that pages through GA4 calls :meth:`checkpoint` after each page
    with everything it needs to continue, and :meth:`resume` at the start to
    pick up where a crashed attempt stopped.

    Args:
        previous_state: The last checkpoint of an earlier attempt, as decoded
            JSON, or None on a first attempt.
        heartbeat: Called with the state to record (Temporal's activity
            heartbeat in the activity; a no-op elsewhere).
        structure: Turns decoded JSON back into a typed state.
    """

    def __init__(
        self,
        *,
        previous_state: Any = None,
        heartbeat: Callable[..., None] | None = None,
        structure: Callable[[Any, type[Any]], Any] | None = None,
    ) -> None:
        self._previous_state = previous_state
        self._heartbeat = heartbeat or (lambda *_: None)
        self._structure = structure

    @property
    def resuming(self) -> bool:
        """True when an earlier attempt left a checkpoint."""
        return self._previous_state is not None

    def resume(self, state_type: type[_StateT]) -> _StateT | None:
        """Return the earlier attempt's checkpoint as ``state_type``, or None."""
        if self._previous_state is None:
            return None
        if isinstance(self._previous_state, state_type):
            return self._previous_state
        if self._structure is None:
            self._structure = make_cattrs_converter().structure
        return self._structure(self._previous_state, state_type)  # type: ignore[no-any-return]

    def checkpoint(self, state: object) -> None:
        """Record ``state`` so a retried attempt can resume from it."""
        self._previous_state = state
        self._heartbeat(state)

    def alive(self) -> None:
        """Tell Temporal the fetch is still making progress, without new state."""
        if self._previous_state is None:
            self._heartbeat()
        else:
            self._heartbeat(self._previous_state)


@runtime_checkable
class ButtonDataSource(Protocol):
    """Where button events come from: GA4, a saved report, a fake."""

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """Return the compact report for ``request``'s property and period.

        Raise :class:`temporalio.exceptions.ApplicationError` with
        ``non_retryable=True`` for configuration mistakes, anything else for
        faults worth retrying.
        """
        ...


@runtime_checkable
class InsightStore(Protocol):
    """Where analyses are kept. Every write is idempotent."""

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        """Insert or replace the analysis keyed by ``record.analysis_id``.

        Returns:
            True when the analysis was new, False when it replaced a record
            with the same ID (a retried save).
        """
        ...

    async def get_analysis(self, analysis_id: str) -> AnalysisRecord | None:
        """Return the analysis with that ID, or None."""
        ...

    async def latest_analysis(
        self, property_id: str | None = None
    ) -> AnalysisRecord | None:
        """Return the most recently saved analysis (of a property), or None."""
        ...

    async def has_delivery(self, analysis_id: str, channel: str) -> bool:
        """True when a notification for the analysis reached ``channel``."""
        ...

    async def record_delivery(self, analysis_id: str, channel: str) -> None:
        """Remember that the notification for the analysis reached ``channel``."""
        ...


@runtime_checkable
class TrendStore(Protocol):
    """Optional: where daily rows and change-alert state are kept, per property.

    A store that also implements this keeps the history behind trends and
    remembers which change alerts went out. The library's SQL, JSON-file and
    memory stores do. Every write is idempotent.
    """

    async def save_daily(self, property_id: str, rows: Sequence[DailyCounts]) -> None:
        """Insert or replace the rows, keyed by property, date, button and variant.

        GA4 restates recent days, so a row for a day already stored replaces
        it: a re-run over overlapping days never counts a day twice. Rows for
        other days and other series are left as they are.
        """
        ...

    async def daily_history(
        self, property_id: str, *, start: datetime.date, end: datetime.date
    ) -> list[DailyCounts]:
        """Return the stored rows from ``start`` to ``end`` (inclusive).

        Sorted by date, button and variant; days without a row are absent.
        """
        ...

    async def analysis_for_period(
        self, property_id: str, period: Period
    ) -> AnalysisRecord | None:
        """Return the latest saved analysis of exactly ``period``, or None.

        The baseline of the next period's change findings.
        """
        ...

    async def sent_alerts(self, property_id: str) -> dict[str, SentAlert]:
        """Return the property's alert keys, each with the alert last sent.

        A record that cannot be read back whole is left out, so a damaged
        store never silences an alert.
        """
        ...

    async def record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        """Remember that the alert ``key`` went out as ``sent``.

        Recording a key again replaces what was recorded for it.
        """
        ...


@runtime_checkable
class Notifier(Protocol):
    """Tells people about an analysis."""

    @property
    def channel(self) -> str:
        """A stable name of the destination, e.g. ``slack:#growth``.

        Deliveries are recorded per analysis and channel, so two notifiers of
        one kind need different channel names. Never put secrets in it.
        """
        ...

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """Deliver the insights; raise on failure so the activity retries."""
        ...


def as_notifiers(notifier: Notifier | Sequence[Notifier] | None) -> list[Notifier]:
    """Return ``notifier`` as a list, checking that channel names are unique."""
    if notifier is None:
        return []
    given: list[object] = (
        list(notifier) if isinstance(notifier, (list, tuple)) else [notifier]
    )
    notifiers: list[Notifier] = []
    for candidate in given:
        if not isinstance(candidate, Notifier):
            raise TypeError(
                "a notifier needs a channel name and an async send(insights, *, "
                f"analysis_id) method, got {type(candidate).__name__} "
                f"{candidate!r}; build one, e.g. "
                "ga4_button_workflows.notifiers.ConsoleNotifier()"
            )
        notifiers.append(candidate)
    channels = [n.channel for n in notifiers]
    duplicates = sorted({c for c in channels if channels.count(c) > 1})
    if duplicates:
        raise ValueError(
            f"notifier channels must be unique, but {', '.join(duplicates)} "
            "appears more than once; give each notifier its own channel name"
        )
    return notifiers
