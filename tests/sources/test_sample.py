"""The demo's synthetic source: daily rows and the previous period, as GA4's."""

from __future__ import annotations

import asyncio
import datetime
from collections import defaultdict

import pytest

from ga4_button_workflows.models import ButtonReport, FetchRequest, Period
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources.sample import SampleDataSource
from ga4_button_workflows.trends import daily_series, period_over_period

PERIOD = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 14))
PREVIOUS = Period(datetime.date(2026, 2, 15), datetime.date(2026, 2, 28))


def fetch(source: SampleDataSource, period: Period = PERIOD) -> ButtonReport:
    request = FetchRequest(property_id="100000001", period=period)
    return asyncio.run(source.fetch_report(request, FetchContext()))


class TestDaily:
    def test_without_the_option_there_are_no_days_and_no_previous_period(
        self,
    ) -> None:
        report = fetch(SampleDataSource())

        assert report.daily == ()
        assert report.previous_period is None
        assert report.previous_counts == ()

    def test_every_day_of_every_pair_is_reported_and_clicks_add_up(self) -> None:
        report = fetch(SampleDataSource(daily=True))

        days = {row.date for row in report.daily}
        assert days == {
            PERIOD.start + datetime.timedelta(days=n) for n in range(PERIOD.days)
        }
        pairs = {(row.button, row.variant) for row in report.daily}
        assert pairs == {(c.button, c.variant) for c in report.counts}
        clicks: dict[tuple[str, str], int] = defaultdict(int)
        for row in report.daily:
            clicks[row.button, row.variant] += row.click_events
        assert clicks == {(c.button, c.variant): c.click_events for c in report.counts}

    def test_day_users_are_the_days_own_never_more_than_the_periods(self) -> None:
        report = fetch(SampleDataSource(daily=True))
        whole = {(c.button, c.variant): c for c in report.counts}

        for row in report.daily:
            period_counts = whole[row.button, row.variant]
            assert row.exposed_users is not None
            assert 0 < row.exposed_users <= (period_counts.exposed_users or 0)
            assert row.clicking_users <= period_counts.clicking_users
            assert row.clicking_users <= row.exposed_users

    def test_the_whole_period_counts_do_not_change_with_the_options(self) -> None:
        plain = fetch(SampleDataSource())
        full = fetch(SampleDataSource(daily=True, previous_period=True))

        assert full.counts == plain.counts
        assert full.exposures == plain.exposures

    def test_the_days_make_a_trend_with_no_gaps(self) -> None:
        report = fetch(SampleDataSource(daily=True))

        trend = daily_series(report.daily, today=PERIOD.end + datetime.timedelta(1))

        assert len({(p.button, p.variant) for p in trend}) == 10  # max_series
        assert len(trend) == 10 * PERIOD.days
        assert all(p.click_through_rate is not None for p in trend)


class TestPreviousPeriod:
    def test_it_is_the_equally_long_period_before_with_the_same_pairs(self) -> None:
        report = fetch(SampleDataSource(previous_period=True))

        assert report.previous_period == PREVIOUS
        assert [(c.button, c.variant) for c in report.previous_counts] == [
            (c.button, c.variant) for c in report.counts
        ]

    def test_it_is_its_own_traffic_at_the_same_rates_so_nothing_changed(
        self,
    ) -> None:
        report = fetch(SampleDataSource(previous_period=True))

        changes = period_over_period(
            report.counts,
            report.previous_counts,
            current_period=PERIOD,
            previous_period=PREVIOUS,
        )

        assert report.previous_counts != report.counts  # drawn apart, not copied
        assert changes == ()

    def test_the_same_seed_and_period_give_the_same_report(self) -> None:
        source = SampleDataSource(seed=7, daily=True, previous_period=True)

        assert fetch(source) == fetch(source)


@pytest.mark.parametrize("option", ["daily", "previous_period"])
def test_options_that_are_not_true_or_false_are_refused(option: str) -> None:
    with pytest.raises(TypeError, match=f"{option} must be True or False, got 1"):
        SampleDataSource(**{option: 1})  # type: ignore[arg-type]
