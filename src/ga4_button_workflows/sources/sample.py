"""A data source that analyses seeded synthetic traffic: the demo's data."""

from __future__ import annotations

from collections import defaultdict

from ga4_button_workflows.aggregate import ReportBuilder
from ga4_button_workflows.models import ButtonReport, EventSchema, FetchRequest
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.testing.traffic import generate_landing_page_traffic

__all__ = ["SampleDataSource"]


class SampleDataSource:
    """Synthetic traffic on the original landing page, for any period asked.

    It goes through the same aggregation as live GA4 data: events are grouped
    the way a GA4 report groups them (event name x button x variant, with
    distinct users over the whole period) and folded by
    :class:`~ga4_button_workflows.aggregate.ReportBuilder`.

    Args:
        seed: The generator's seed; the same seed and period give the same
            report.
        visitors_per_variant_per_day: Daily new visitors per variant.
        schema: How to read the events; the original landing page by default.
    """

    def __init__(
        self,
        *,
        seed: int = 20240601,
        visitors_per_variant_per_day: int = 300,
        schema: EventSchema = ORIGINAL_LANDING_PAGE,
    ) -> None:
        self._seed = seed
        self._visitors = visitors_per_variant_per_day
        self._schema = schema

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """See :class:`~ga4_button_workflows.ports.ButtonDataSource`."""
        events: dict[tuple[str, str | None, str | None], int] = defaultdict(int)
        users: dict[tuple[str, str | None, str | None], set[str]] = defaultdict(set)
        durations: dict[tuple[str, str | None, str | None], float] = defaultdict(float)
        for event in generate_landing_page_traffic(
            start=request.period.start,
            days=request.period.days,
            visitors_per_variant_per_day=self._visitors,
            seed=self._seed,
        ):
            button = event.param("button_type")
            variant = event.param("page_variant")
            key = (
                event.event_name,
                None if button is None else str(button),
                None if variant is None else str(variant),
            )
            events[key] += 1
            users[key].add(event.user_id)
            duration = event.param("hover_duration")
            if isinstance(duration, (int, float)):
                durations[key] += duration
        context.alive()

        builder = ReportBuilder(
            self._schema, property_id=request.property_id, period=request.period
        )
        builder.time_zone = request.time_zone
        for key in sorted(events, key=lambda k: (k[0], k[1] or "", k[2] or "")):
            event_name, button, variant = key
            builder.add_row(
                event_name=event_name,
                button=button,
                variant=variant,
                event_count=events[key],
                users=len(users[key]),
                duration_ms=durations.get(key),
            )
        builder.pages_fetched = 1
        return builder.build()
