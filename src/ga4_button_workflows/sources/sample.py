"""A data source that analyses seeded synthetic traffic: the demo's data."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import TypeAlias

import attrs

from ga4_button_workflows.aggregate import DailyBuilder, ReportBuilder, largest_pairs
from ga4_button_workflows.models import ButtonReport, EventSchema, FetchRequest, Period
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.testing.traffic import generate_landing_page_traffic
from ga4_button_workflows.trends import previous_period_of

__all__ = ["SampleDataSource"]


_PREVIOUS_STREAM = 0x5EED_BEF0
"""Mixed into the seed for the previous period: its own traffic, same rates."""


class SampleDataSource:
    """Synthetic traffic on the original landing page, for any period asked.

    It goes through the same aggregation as live GA4 data: events are grouped
    the way a GA4 report groups them (event name x button x variant, with
    distinct users over the whole period; per day for ``daily``) and folded
    the way GA4's reports are.

    The traffic depends on the seed and the number of days, not on the dates:
    two periods of equal length get the same counts. The previous period
    (``previous_period``) is drawn from its own stream at the same true rates,
    so it differs by chance alone and a change finding there is a false alarm.

    Args:
        seed: The generator's seed; the same seed and period give the same
            report.
        visitors_per_variant_per_day: Daily new visitors per variant.
        schema: How to read the events; the original landing page by default.
        daily: Also report daily exposures and clicks into ``report.daily``,
            for trends, as :class:`~ga4_button_workflows.sources.ga4.GA4Source`
            does.
        previous_period: Also report the equally long period just before into
            ``report.previous_counts``, for period-over-period changes.
    """

    def __init__(
        self,
        *,
        seed: int = 20240601,
        visitors_per_variant_per_day: int = 300,
        schema: EventSchema = ORIGINAL_LANDING_PAGE,
        daily: bool = False,
        previous_period: bool = False,
    ) -> None:
        for name, value in (("daily", daily), ("previous_period", previous_period)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        for name, number in (
            ("seed", seed),
            ("visitors_per_variant_per_day", visitors_per_variant_per_day),
        ):
            if isinstance(number, bool) or not isinstance(number, int):
                raise TypeError(
                    f"{name} must be a whole number, got {type(number).__name__} "
                    f"{number!r}"
                )
        if visitors_per_variant_per_day < 1:
            raise ValueError(
                "visitors_per_variant_per_day must be at least 1, got "
                f"{visitors_per_variant_per_day!r}"
            )
        if not isinstance(schema, EventSchema):
            raise TypeError(
                f"schema must be an EventSchema, got {type(schema).__name__} "
                f"{schema!r}; use a preset from ga4_button_workflows.schemas, e.g. "
                "ORIGINAL_LANDING_PAGE"
            )
        self._seed = seed
        self._visitors = visitors_per_variant_per_day
        self._schema = schema
        self._daily = daily
        self._previous_period = previous_period

    async def fetch_report(
        self, request: FetchRequest, context: FetchContext
    ) -> ButtonReport:
        """See :class:`~ga4_button_workflows.ports.ButtonDataSource`."""
        daily = DailyBuilder(self._schema) if self._daily else None
        report = self._report(request, request.period, self._seed, daily)
        context.alive()
        if daily is not None:
            rows, notes = daily.build(largest_pairs(report.counts))
            quality = attrs.evolve(
                report.quality, notes=(*report.quality.notes, *notes)
            )
            report = attrs.evolve(report, daily=rows, quality=quality)
        if self._previous_period:
            previous = previous_period_of(request.period)
            kept = {(counts.button, counts.variant) for counts in report.counts}
            before = self._report(
                request, previous, self._seed ^ _PREVIOUS_STREAM, None, cap=False
            )
            report = attrs.evolve(
                report,
                previous_period=previous,
                previous_counts=tuple(
                    counts
                    for counts in before.counts
                    if (counts.button, counts.variant) in kept
                ),
            )
            context.alive()
        return report

    def _report(
        self,
        request: FetchRequest,
        period: Period,
        seed: int,
        daily: DailyBuilder | None,
        *,
        cap: bool = True,
    ) -> ButtonReport:
        events: dict[_Key, int] = defaultdict(int)
        users: dict[_Key, set[str]] = defaultdict(set)
        durations: dict[_Key, float] = defaultdict(float)
        day_events: dict[tuple[datetime.date, _Key], int] = defaultdict(int)
        day_users: dict[tuple[datetime.date, _Key], set[str]] = defaultdict(set)
        for event in generate_landing_page_traffic(
            start=period.start,
            days=period.days,
            visitors_per_variant_per_day=self._visitors,
            seed=seed,
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
            if daily is not None:
                day_events[event.date, key] += 1
                day_users[event.date, key].add(event.user_id)

        builder = ReportBuilder(
            self._schema, property_id=request.property_id, period=period
        )
        builder.time_zone = request.time_zone
        for key in sorted(events, key=_row_order):
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
        if daily is not None:
            for day, key in sorted(day_events, key=lambda k: (k[0], _row_order(k[1]))):
                event_name, button, variant = key
                daily.add_row(
                    day=day,
                    event_name=event_name,
                    button=button,
                    variant=variant,
                    event_count=day_events[day, key],
                    users=len(day_users[day, key]),
                )
        return builder.build() if cap else builder.build_uncapped()


_Key: TypeAlias = tuple[str, str | None, str | None]


def _row_order(key: _Key) -> tuple[str, str, str]:
    return (key[0], key[1] or "", key[2] or "")
