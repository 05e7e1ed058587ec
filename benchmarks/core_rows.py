"""Synthetic GA4 rows of any count, folded the way a data source folds them."""

from __future__ import annotations

import asyncio
import datetime
import random

from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.models import ButtonReport, FetchRequest, Period
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE

VARIANTS = ("original", "colors", "sizes", "spacing", "typography")
EVENTS = ("button_hover_start", "button_hover_end", "cta_click")


def _rows(count: int, seed: int = 11):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for variant in VARIANTS:
        yield {
            "event_name": "page_view",
            "button": None,
            "variant": variant,
            "event_count": 2_000_000,
            "users": 1_000_000,
        }
    per_button = len(VARIANTS) * len(EVENTS)
    for index in range(count - len(VARIANTS)):
        button, rest = divmod(index, per_button)
        variant, event = divmod(rest, len(EVENTS))
        events = rng.randint(1, 400)
        yield {
            "event_name": EVENTS[event],
            "button": f"button-{button}",
            "variant": VARIANTS[variant],
            "event_count": events,
            "users": max(1, events * 3 // 4),
            "duration_ms": float(events * 900) if event else None,
        }


def fold_rows(count: int) -> ButtonReport:
    """Fold ``count`` synthetic rows and return the capped report."""
    builder = ReportBuilder(
        ORIGINAL_LANDING_PAGE,
        property_id="42",
        period=Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 28)),
    )
    for row in _rows(count):
        builder.add_row(**row)
    return builder.build()


class RowsSource:
    """A data source producing ``rows`` synthetic GA4 rows."""

    def __init__(self, rows: int) -> None:
        self._rows = rows

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        builder = ReportBuilder(
            ORIGINAL_LANDING_PAGE,
            property_id=request.property_id,
            period=request.period,
        )
        for index, row in enumerate(_rows(self._rows)):
            builder.add_row(**row)
            if index % 10_000 == 0:
                await asyncio.sleep(0)  # let the worker's event loop breathe
        builder.pages_fetched = max(1, self._rows // 100_000)
        return builder.build()
