"""``ReportFileSource``: analyse saved GA4 Data API responses.

A saved file is the JSON GA4's REST API answers with (camelCase, values as
strings): a ``runReport`` response, a ``batchRunReports`` response (several
reports), or a list of ``runReport`` responses. Its rows go through the same
parsing and aggregation as live data
(:mod:`ga4_button_workflows.sources._ga4_rows`), so a saved report and a live
fetch of the same data give the same report.

Save one with :func:`write_report_file`, from a response of the Data API
client, or save the API Explorer's answer as it is.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from google.protobuf import json_format
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.aggregate import DEFAULT_MAX_BUTTONS, ReportBuilder
from ga4_button_workflows.models import (
    ButtonReport,
    EventSchema,
    FetchRequest,
    Period,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_rows import (
    DailyCountsFolder,
    ReportFolder,
    largest_pairs,
    parse_ga4_date,
    raw_message,
)

__all__ = [
    "REPORT_FILE_ERROR",
    "ReportFileSource",
    "read_report_file",
    "report_to_json",
    "write_report_file",
]

REPORT_FILE_ERROR = "ReportFileError"
"""The ``ApplicationError`` type of an unreadable or malformed saved report."""

_REPORT_KEYS = frozenset(
    {"dimensionHeaders", "metricHeaders", "rows", "rowCount", "metadata"}
)
_DAY_DIMENSIONS = ("date", "dateRange")
_ASSUMED_DAYS = 7


class ReportFileSource:
    """Button events from saved GA4 report responses (REST JSON files).

    Every report in the files is folded into one report. Reports split by day
    (a ``date`` or ``dateRange`` dimension) are not added to a report over the
    whole period, because their user counts cannot be added: beside one, the
    daily reports fill ``report.daily`` for trends; alone, they are folded
    with their user counts marked as upper bounds.

    Args:
        paths: One file or several.
        schema: Which events and columns mean what.
        max_buttons: Buttons kept in the report, largest first.

    Raises:
        ValueError: no file was given.
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        schema: EventSchema = ORIGINAL_LANDING_PAGE,
        max_buttons: int = DEFAULT_MAX_BUTTONS,
    ) -> None:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = tuple(Path(path) for path in paths)
        """The saved GA4 response files, in the order given."""
        if not self.paths:
            raise ValueError("ReportFileSource needs at least one report file")
        self.schema = schema
        """How the files' events are read."""
        self._max_buttons = max_buttons

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """See :class:`~ga4_button_workflows.ports.ButtonDataSource`.

        The files do not record which days they cover, so the report carries
        the request's period.
        """
        context.alive()
        return await asyncio.to_thread(
            self.read_report,
            property_id=request.property_id,
            period=request.period,
            time_zone=request.time_zone,
        )

    def covered_period(self) -> Period | None:
        """The days the files' ``date`` rows cover, or None when they have none.

        Raises:
            ApplicationError: a file cannot be read or is not a GA4 response.
        """
        return _days_of(
            [saved for path in self.paths for saved in read_report_file(path)]
        )

    def read_report(
        self,
        *,
        property_id: str = "unknown",
        period: Period | None = None,
        time_zone: str | None = None,
    ) -> ButtonReport:
        """Fold the files into a report, without Temporal.

        Args:
            property_id: The property the report is filed under.
            period: The days the files cover. When None: the days of a
                ``date`` dimension if the files have one, otherwise the seven
                days before today, with a caveat saying it is assumed.
            time_zone: Used when the files carry no ``metadata.timeZone``.

        Raises:
            ApplicationError: a file cannot be read or is not a GA4 response
                (type ``ReportFileError``), or its data cannot be trusted
                (``GA4DataError``); both non-retryable.
        """
        reports = [saved for path in self.paths for saved in read_report_file(path)]
        whole_period = [r for r in reports if not _split_by_day(r)]
        chosen = whole_period or reports

        assumed = period is None and _days_of(chosen) is None
        builder = ReportBuilder(
            self.schema,
            property_id=property_id,
            period=period or _days_of(chosen) or _assumed_period(),
            max_buttons=self._max_buttons,
        )
        folder = ReportFolder(builder, self.schema)
        for saved in chosen:
            page = folder.fold_json(saved)
            if page.rows < page.row_count:
                builder.note(
                    f"a saved report holds {page.rows:,} of the {page.row_count:,} "
                    "rows GA4 counted: it was saved from one page, so this "
                    "analysis sees part of the data; save every page (offset += "
                    "rows) and analyse them together"
                )
        if assumed:
            builder.note(
                "the saved report does not record its date range; the period "
                "shown is assumed"
            )
        if builder.time_zone is None:
            builder.time_zone = time_zone
        built = builder.build()
        daily_reports = [r for r in reports if _split_by_day(r)]
        if not whole_period or not daily_reports:
            return built
        return self._with_daily(built, daily_reports)

    def _with_daily(
        self, report: ButtonReport, daily_reports: Sequence[Mapping[str, Any]]
    ) -> ButtonReport:
        # Beside a whole-period report, daily reports give trends only: their
        # users are per day and never reach the whole-period counts.
        folder = DailyCountsFolder(self.schema)
        for daily_report in daily_reports:
            if "date" in _dimension_names(daily_report):
                folder.fold_json(daily_report)
        daily, notes = folder.build(largest_pairs(report.counts))
        quality = attrs.evolve(report.quality, notes=(*report.quality.notes, *notes))
        return attrs.evolve(report, daily=daily, quality=quality)


def read_report_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Return the ``RunReportResponse`` JSON objects saved in ``path``.

    Raises:
        ApplicationError: the file cannot be read, is not JSON, or holds no
            runReport / batchRunReports response (type ``ReportFileError``,
            non-retryable).
    """
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise _file_error(f"cannot read the saved GA4 report {file}: {error}") from None
    except UnicodeDecodeError:
        raise _file_error(
            f"{file} is not UTF-8 text; save GA4's runReport or batchRunReports "
            "JSON response as it is"
        ) from None
    except json.JSONDecodeError as error:
        raise _file_error(
            f"{file} is not JSON ({error}); save GA4's runReport or "
            "batchRunReports response as it is"
        ) from None
    reports = list(_reports_in(document))
    if not reports:
        keys = ", ".join(sorted(document)) if isinstance(document, dict) else ""
        raise _file_error(
            f"{file} holds no GA4 runReport or batchRunReports response (top-level "
            f"keys: {keys or 'none'}); save the API's JSON answer as it is"
        )
    return reports


def report_to_json(response: Any) -> dict[str, Any]:
    """Return a Data API response as GA4's REST API spells it (camelCase).

    Args:
        response: A ``RunReportResponse`` or ``BatchRunReportsResponse``,
            proto-plus or raw protobuf.
    """
    document: dict[str, Any] = json_format.MessageToDict(
        raw_message(response), use_integers_for_enums=False
    )
    return document


def write_report_file(
    response: Any | Iterable[Any],
    path: str | os.PathLike[str],
    *,
    indent: int | None = 2,
) -> Path:
    """Save Data API responses as a file :class:`ReportFileSource` reads.

    Args:
        response: A ``RunReportResponse`` or ``BatchRunReportsResponse``
            (proto-plus or raw protobuf), or several ``RunReportResponse``
            pages, saved as one ``batchRunReports`` response.
        path: Where to write; parent folders must exist.
        indent: JSON indentation; None writes one compact line.

    Returns:
        The path written.
    """
    if isinstance(response, Iterable) and not hasattr(response, "DESCRIPTOR"):
        document: dict[str, Any] = {
            "reports": [report_to_json(page) for page in response],
            "kind": "analyticsData#batchRunReports",
        }
    else:
        document = report_to_json(response)
    file = Path(path)
    text = json.dumps(
        document, indent=indent, separators=None if indent is not None else (",", ":")
    )
    file.write_text(text + "\n", encoding="utf-8")
    return file


def _reports_in(document: Any) -> Iterable[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _reports_in(item)
    elif isinstance(document, dict):
        if isinstance(document.get("reports"), list):
            yield from _reports_in(document["reports"])
        elif _REPORT_KEYS & document.keys() or document.get("kind") == (
            "analyticsData#runReport"
        ):
            yield document


def _dimension_names(report: Mapping[str, Any]) -> list[str]:
    return [str(h.get("name", "")) for h in report.get("dimensionHeaders") or ()]


def _split_by_day(report: Mapping[str, Any]) -> bool:
    return any(name in _DAY_DIMENSIONS for name in _dimension_names(report))


def _days_of(reports: Sequence[Mapping[str, Any]]) -> Period | None:
    days: list[datetime.date] = []
    for report in reports:
        names = _dimension_names(report)
        if "date" not in names:
            continue
        column = names.index("date")
        for row in report.get("rows") or ():
            values = row.get("dimensionValues") or ()
            day = (
                parse_ga4_date(str(values[column].get("value", "")))
                if column < len(values)
                else None
            )
            if day is not None:
                days.append(day)
    return Period(min(days), max(days)) if days else None


def _assumed_period() -> Period:
    yesterday = datetime.date.today() - datetime.timedelta(days=1)  # noqa: DTZ011 - the reader's local day
    return Period(yesterday - datetime.timedelta(days=_ASSUMED_DAYS - 1), yesterday)


def _file_error(message: str) -> ApplicationError:
    return ApplicationError(message, type=REPORT_FILE_ERROR, non_retryable=True)
