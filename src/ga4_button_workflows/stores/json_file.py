"""An insight store in one JSON file, compatible with the original application.

The original application wrote its latest insights document to
``button_insights.json``. This store keeps that: the latest saved document's
keys stay at the top level, so anything that read the old file still reads
it. Beside them it keeps every analysis, every delivery, the daily rows behind
trends and the change alerts sent::

    {
      "timestamp": "...", "best_performing_button": "...", ...,
      "store_version": 1,
      "latest_analysis_id": "button-analysis-123-2024-05-07",
      "analyses": {
        "<analysis ID>": {"analysis_id": "...", "workflow_id": "...",
                          "run_id": "...", "property_id": "...",
                          "period": {...}, "saved_at": "...",
                          "insights": {...}}
      },
      "deliveries": [
        {"analysis_id": "...", "channel": "slack", "delivered_at": "..."}
      ],
      "daily": [
        {"property_id": "...", "date": "2024-05-07", "button": "cta",
         "variant": "colors", "exposed_users": 180, "exposure_events": 230,
         "clicking_users": 12, "click_events": 14}
      ],
      "alerts": [
        {"property_id": "...", "alert_key": "cta|colors|drop",
         "relative_change": -0.3, "analysis_id": "...", "previous_rate": 0.06,
         "span": {"start": "2024-04-24", "end": "2024-05-07"},
         "alerted_at": "..."}
      ]
    }

``daily`` and ``alerts`` were added without changing ``store_version``: a file
without them reads as having none, and an alert without ``previous_rate`` and
``span`` as one recorded before they were kept. A daily row is keyed by property, date,
button and variant, and a restated day replaces the row it had.

A file written by the original application (just an insights document) is read
as a store with no analyses; the first save replaces its top-level keys.

Every change rewrites the whole file through a temporary file in the same
folder, flushed to disk and renamed over the old one, so a crash leaves either
the old or the new file, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import math
import os
import stat
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cattrs

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.models import AnalysisRecord, DailyCounts, Period, SentAlert
from ga4_button_workflows.stores._sent import checked_sent_alert

__all__ = ["DEFAULT_PATH", "JSONFileInsightStore"]

DEFAULT_PATH = "button_insights.json"
"""The file the original application wrote."""

STORE_VERSION = 1
"""The layout version written to ``store_version``."""

_STORE_KEYS = (
    "store_version",
    "latest_analysis_id",
    "analyses",
    "deliveries",
    "daily",
    "alerts",
)


class JSONFileInsightStore:
    """Keeps analyses, deliveries, daily rows and alerts in one JSON file.

    The file is rewritten atomically on every change.

    Safe to share between concurrent activities of one worker process; do not
    point two processes at the same file (use :class:`SQLInsightStore` then).
    Each save rewrites the whole file, so it suits a few hundred analyses;
    ``max_analyses`` keeps it bounded.

    Args:
        path: The file; created on the first write. Its folder must exist.
        max_analyses: Keep only this many analyses, dropping the oldest saves
            (and their delivery records). None keeps everything.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        max_analyses: int | None = None,
    ) -> None:
        if max_analyses is not None and max_analyses < 1:
            raise ValueError(f"max_analyses must be at least 1, got {max_analyses}")
        self._path = Path(path)
        self._max_analyses = max_analyses
        self._lock = threading.Lock()
        self._converter = make_cattrs_converter()

    def __repr__(self) -> str:
        return f"JSONFileInsightStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The JSON file."""
        return self._path

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        return await asyncio.to_thread(self._save_analysis, record)

    async def get_analysis(self, analysis_id: str) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        content = await asyncio.to_thread(self._read_locked)
        plain = content["analyses"].get(analysis_id)
        return None if plain is None else self._record(plain)

    async def latest_analysis(
        self, property_id: str | None = None
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        content = await asyncio.to_thread(self._read_locked)
        matching = [
            plain
            for plain in content["analyses"].values()
            if property_id is None or plain.get("property_id") == property_id
        ]
        if not matching:
            return None
        return self._record(max(matching, key=_save_order))

    async def analysis_for_period(
        self, property_id: str, period: Period
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        content = await asyncio.to_thread(self._read_locked)
        records = [
            self._record(plain)
            for plain in content["analyses"].values()
            if plain.get("property_id") == property_id
        ]
        matching = [record for record in records if record.period == period]
        return max(matching, key=lambda r: r.saved_at) if matching else None

    async def has_delivery(self, analysis_id: str, channel: str) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        content = await asyncio.to_thread(self._read_locked)
        return any(
            entry.get("analysis_id") == analysis_id and entry.get("channel") == channel
            for entry in content["deliveries"]
        )

    async def record_delivery(self, analysis_id: str, channel: str) -> None:
        """Record the delivery; recording it again keeps the first time."""
        await asyncio.to_thread(self._record_delivery, analysis_id, channel)

    async def save_daily(self, property_id: str, rows: Sequence[DailyCounts]) -> None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        if rows:
            await asyncio.to_thread(self._save_daily, property_id, list(rows))

    async def daily_history(
        self, property_id: str, *, start: datetime.date, end: datetime.date
    ) -> list[DailyCounts]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        content = await asyncio.to_thread(self._read_locked)
        first, last = start.isoformat(), end.isoformat()
        rows = [
            self._converter.structure(_without_property(plain), DailyCounts)
            for plain in content["daily"]
            if plain.get("property_id") == property_id
            and first <= plain.get("date", "") <= last
        ]
        return sorted(rows, key=lambda row: (row.date, row.button, row.variant))

    async def sent_alerts(self, property_id: str) -> dict[str, SentAlert]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        content = await asyncio.to_thread(self._read_locked)
        sent = {}
        for entry in content["alerts"]:
            if entry.get("property_id") != property_id:
                continue
            record = self._sent_alert(entry)
            if record is not None and isinstance(key := entry.get("alert_key"), str):
                sent[key] = record
        return sent

    async def record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        checked = checked_sent_alert(sent)
        await asyncio.to_thread(self._record_alert, property_id, key, checked)

    # --- Blocking work, run in worker threads ---------------------------------

    def _save_analysis(self, record: AnalysisRecord) -> bool:
        plain_record = self._converter.unstructure(record)
        with self._lock:
            content = self._read()
            analyses: dict[str, Any] = content["analyses"]
            is_new = record.analysis_id not in analyses
            analyses[record.analysis_id] = plain_record
            self._prune(content)
            self._write(content)
        return is_new

    def _record_delivery(self, analysis_id: str, channel: str) -> None:
        with self._lock:
            content = self._read()
            deliveries: list[dict[str, Any]] = content["deliveries"]
            if any(
                entry.get("analysis_id") == analysis_id
                and entry.get("channel") == channel
                for entry in deliveries
            ):
                return
            deliveries.append(
                {
                    "analysis_id": analysis_id,
                    "channel": channel,
                    "delivered_at": datetime.datetime.now(
                        datetime.timezone.utc
                    ).isoformat(),
                }
            )
            self._write(content)

    def _save_daily(self, property_id: str, rows: list[DailyCounts]) -> None:
        fresh = {
            (row.date.isoformat(), row.button, row.variant): {
                "property_id": property_id,
                **self._converter.unstructure(row),
            }
            for row in rows
        }
        with self._lock:
            content = self._read()
            kept = [
                plain
                for plain in content["daily"]
                if plain.get("property_id") != property_id
                or (plain.get("date"), plain.get("button"), plain.get("variant"))
                not in fresh
            ]
            content["daily"] = sorted(
                [*kept, *fresh.values()],
                key=lambda plain: (
                    plain.get("property_id", ""),
                    plain.get("date", ""),
                    plain.get("button", ""),
                    plain.get("variant", ""),
                ),
            )
            self._write(content)

    def _record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        entry = {
            "property_id": property_id,
            "alert_key": key,
            **self._converter.unstructure(sent),
            "alerted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        with self._lock:
            content = self._read()
            content["alerts"] = [
                *(
                    other
                    for other in content["alerts"]
                    if (other.get("property_id"), other.get("alert_key"))
                    != (property_id, key)
                ),
                entry,
            ]
            self._write(content)

    def _read_locked(self) -> dict[str, Any]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, Any]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"analyses": {}, "deliveries": [], "daily": [], "alerts": []}
        try:
            content = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{self._path} is not valid JSON ({error}); move it aside or fix "
                "it, the store will not overwrite it"
            ) from error
        if not isinstance(content, dict):
            raise ValueError(  # noqa: TRY004 - bad file content, not a bad argument
                f"{self._path} holds a JSON {type(content).__name__}, not an "
                "object; move it aside, the store will not overwrite it"
            )
        content.setdefault("analyses", {})
        content.setdefault("deliveries", [])
        content.setdefault("daily", [])
        content.setdefault("alerts", [])
        return content

    def _prune(self, content: dict[str, Any]) -> None:
        analyses: dict[str, Any] = content["analyses"]
        if self._max_analyses is None or len(analyses) <= self._max_analyses:
            return
        newest_first = sorted(analyses.values(), key=_save_order, reverse=True)
        kept = {plain["analysis_id"] for plain in newest_first[: self._max_analyses]}
        content["analyses"] = {key: analyses[key] for key in analyses if key in kept}
        content["deliveries"] = [
            entry for entry in content["deliveries"] if entry.get("analysis_id") in kept
        ]

    def _write(self, content: dict[str, Any]) -> None:
        text = json.dumps(self._layout(content), indent=2, allow_nan=False)
        folder = self._path.parent
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{self._path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, self._file_mode())
            os.replace(temporary, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_folder(folder)

    def _layout(self, content: dict[str, Any]) -> dict[str, Any]:
        """Return the file's content: the latest document on top, then the store."""
        analyses: dict[str, Any] = content["analyses"]
        latest = max(analyses.values(), key=_save_order, default=None)
        if latest is None:
            top = {k: v for k, v in content.items() if k not in _STORE_KEYS}
        else:
            top = dict(latest["insights"])
        return {
            **{k: v for k, v in top.items() if k not in _STORE_KEYS},
            "store_version": STORE_VERSION,
            "latest_analysis_id": None if latest is None else latest["analysis_id"],
            "analyses": analyses,
            "deliveries": content["deliveries"],
            "daily": content["daily"],
            "alerts": content["alerts"],
        }

    def _file_mode(self) -> int:
        try:
            return stat.S_IMODE(self._path.stat().st_mode)
        except FileNotFoundError:
            return 0o644

    def _record(self, plain: dict[str, Any]) -> AnalysisRecord:
        return self._converter.structure(plain, AnalysisRecord)

    def _sent_alert(self, entry: dict[str, Any]) -> SentAlert | None:
        """The alert an entry records, or None when it is damaged.

        A hand-edited or damaged record (a relative change that is not a
        finite number, an analysis ID that is not text, a span that is not two
        dates) is left out, so it never silences an alert.
        """
        if not _finite_number(entry.get("relative_change")) or not isinstance(
            entry.get("analysis_id"), str
        ):
            return None
        try:
            return self._converter.structure(entry, SentAlert)
        except (cattrs.BaseValidationError, TypeError, ValueError):
            return None


def _save_order(plain: dict[str, Any]) -> tuple[datetime.datetime, str]:
    saved_at = datetime.datetime.fromisoformat(plain["saved_at"])
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=datetime.timezone.utc)
    return saved_at, plain["analysis_id"]


def _without_property(plain: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in plain.items() if key != "property_id"}


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; folders cannot be opened on Windows."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past the float range
        return False
