"""Trends and change findings: daily series, period over period, alert selection."""

from __future__ import annotations

import datetime
import json
import math
import random
from collections.abc import Iterable, Sequence
from statistics import NormalDist

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ga4_button_workflows.converter import data_converter, make_cattrs_converter
from ga4_button_workflows.insights import (
    generate_insights,
    insights_document,
    validate_insights_document,
)
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonCounts,
    ButtonInsights,
    ButtonMetrics,
    ButtonReport,
    DailyCounts,
    Period,
    SentAlert,
)
from ga4_button_workflows.render import render_text
from ga4_button_workflows.stats import Interval, ratio_beyond_p_value
from ga4_button_workflows.trends import (
    Baseline,
    ChangeAlert,
    ChangeDirection,
    ChangeFinding,
    TrendConfig,
    TrendPoint,
    alert_key,
    alerts_to_send,
    baseline_for,
    daily_series,
    describe_change,
    period_over_period,
    previous_period_of,
    render_alert_text,
)

FIRST_DAY = datetime.date(2024, 5, 1)
DAYS = 28
CURRENT = Period(
    FIRST_DAY + datetime.timedelta(days=21), FIRST_DAY + datetime.timedelta(days=27)
)
PREVIOUS = Period(
    FIRST_DAY + datetime.timedelta(days=14), FIRST_DAY + datetime.timedelta(days=20)
)
BUTTONS = ("cta", "nav_home", "nav_pricing", "feature_card", "signup")
VARIANTS = ("original", "colors")
BASE_RATES = {
    ("cta", "original"): 0.05,
    ("cta", "colors"): 0.06,
    ("nav_home", "original"): 0.03,
    ("nav_home", "colors"): 0.035,
    ("nav_pricing", "original"): 0.08,
    ("nav_pricing", "colors"): 0.07,
    ("feature_card", "original"): 0.04,
    ("feature_card", "colors"): 0.045,
    ("signup", "original"): 0.1,
    ("signup", "colors"): 0.11,
}
"""True click-through rates of 5 buttons x 2 variants."""
USERS_PER_DAY = 1000
PLANTED = ("cta", "colors")


def day(index: int) -> datetime.date:
    return FIRST_DAY + datetime.timedelta(days=index)


# --- Synthetic traffic ----------------------------------------------------------------


def binomial(rng: random.Random, trials: int, rate: float) -> int:
    """An exact Binomial(trials, rate) draw, jumping geometrically between hits."""
    if rate <= 0.0:
        return 0
    if rate >= 1.0:
        return trials
    log_miss = math.log1p(-rate)
    successes, position = 0, -1
    while True:
        position += int(math.log(1.0 - rng.random()) / log_miss) + 1
        if position >= trials:
            return successes
        successes += 1


def simulate_days(
    rates: dict[tuple[str, str], float],
    *,
    days: Iterable[int] = range(DAYS),
    drop: dict[tuple[str, str], float] | None = None,
    drop_from: int = 21,
    rng: random.Random | None = None,
    users_per_day: int = USERS_PER_DAY,
) -> list[DailyCounts]:
    """Daily counts; ``drop`` scales a series' rate from day ``drop_from`` on.

    Without ``rng`` the clicks are the expected counts, so unchanged series have
    exactly equal rates in every period.
    """
    rows = []
    for index in days:
        for (button, variant), base_rate in rates.items():
            rate = base_rate
            if drop and index >= drop_from:
                rate *= drop.get((button, variant), 1.0)
            clicks = (
                round(users_per_day * rate)
                if rng is None
                else binomial(rng, users_per_day, rate)
            )
            rows.append(
                DailyCounts(
                    date=day(index),
                    button=button,
                    variant=variant,
                    exposed_users=users_per_day,
                    exposure_events=users_per_day + users_per_day // 4,
                    clicking_users=clicks,
                    click_events=clicks + clicks // 10,
                )
            )
    return rows


def totals(rows: Iterable[DailyCounts], period: Period) -> list[ButtonCounts]:
    """Period counts. Synthetic visitors come once, so their daily users add up."""
    summed: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if period.start <= row.date <= period.end:
            entry = summed.setdefault((row.button, row.variant), [0, 0, 0, 0])
            entry[0] += row.exposed_users or 0
            entry[1] += row.exposure_events
            entry[2] += row.clicking_users
            entry[3] += row.click_events
    return [
        ButtonCounts(
            button=button,
            variant=variant,
            exposed_users=exposed,
            exposure_events=events,
            clicking_users=clicking,
            click_events=clicks,
        )
        for (button, variant), (exposed, events, clicking, clicks) in sorted(
            summed.items()
        )
    ]


def compare(
    rows: Sequence[DailyCounts], config: TrendConfig | None = None
) -> tuple[ChangeFinding, ...]:
    return period_over_period(
        totals(rows, CURRENT),
        totals(rows, PREVIOUS),
        current_period=CURRENT,
        previous_period=PREVIOUS,
        config=config,
    )


def counts(
    button: str, variant: str, clicking: int, exposed: int | None
) -> ButtonCounts:
    return ButtonCounts(
        button=button, variant=variant, exposed_users=exposed, clicking_users=clicking
    )


ALERTED_SPAN = Period(PREVIOUS.start, CURRENT.end)


def record(
    change: float,
    *,
    span: Period | None = ALERTED_SPAN,
    previous_rate: float | None = 0.06,
) -> SentAlert:
    """The record of an alert sent for a change of ``change`` over ``span``."""
    return SentAlert(
        relative_change=change,
        analysis_id="analysis-1",
        previous_rate=previous_rate,
        span=span,
    )


def finding(**changes: object) -> ChangeFinding:
    """A finding of 6.0% -> 4.2%; a ``relative_change`` given moves the current
    rate with it, unless the rates are given too."""
    base = ChangeFinding(
        button="cta",
        variant="colors",
        direction=ChangeDirection.DROP,
        previous_period=PREVIOUS,
        current_period=CURRENT,
        previous_rate=0.06,
        current_rate=0.042,
        difference=-0.018,
        relative_change=-0.3,
        change_interval=None,
        p_value=1e-6,
        adjusted_p_value=1e-5,
        previous_exposed_users=7000,
        current_exposed_users=7000,
        alert=True,
    )
    relative = changes.get("relative_change")
    if isinstance(relative, float) and "current_rate" not in changes:
        previous_rate = changes.get("previous_rate", base.previous_rate)
        assert isinstance(previous_rate, float)
        changes.setdefault("current_rate", previous_rate * (1.0 + relative))
        changes.setdefault("difference", previous_rate * relative)
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


# --- The planted drop -----------------------------------------------------------------


class TestPlantedDrop:
    def test_a_30_percent_drop_in_the_last_7_of_28_days_is_found_and_alerts(
        self,
    ) -> None:
        rows = simulate_days(BASE_RATES, drop={PLANTED: 0.7})

        findings = compare(rows)

        assert [(f.button, f.variant) for f in findings] == [PLANTED]
        (drop,) = findings
        assert drop.direction is ChangeDirection.DROP
        assert drop.alert
        assert drop.relative_change == pytest.approx(-0.3)
        assert drop.change_interval is not None
        assert drop.change_interval.contains(-0.3)
        assert drop.change_interval.upper < 0
        assert drop.adjusted_p_value <= 0.05
        assert (drop.previous_rate, drop.current_rate) == pytest.approx((0.06, 0.042))

    def test_the_drop_is_alerted_once_and_not_again_on_a_second_run(self) -> None:
        findings = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.7}))

        first = alerts_to_send(findings, {})
        sent = {key: SentAlert.of(f, "analysis-1") for key, f in first}
        second = alerts_to_send(findings, sent)

        assert [key for key, _ in first] == ["cta|colors|drop"]
        assert second == []

    def test_a_drop_that_worsens_by_the_margin_alerts_again(self) -> None:
        first = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.7}))
        worse = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.6}))
        sent = {alert_key(f): SentAlert.of(f, "analysis-1") for f in first}

        again = alerts_to_send(worse, sent)

        assert [key for key, _ in again] == ["cta|colors|drop"]
        assert again[0][1].relative_change == pytest.approx(-0.4, abs=0.01)

    def test_a_drop_that_grows_less_than_the_margin_stays_quiet(self) -> None:
        first = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.7}))
        slightly_worse = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.68}))
        sent = {alert_key(f): SentAlert.of(f, "analysis-1") for f in first}

        assert alerts_to_send(slightly_worse, sent) == []

    def test_unchanged_buttons_never_become_findings(self) -> None:
        rows = simulate_days(BASE_RATES, drop={PLANTED: 0.7})

        findings = compare(rows, TrendConfig(alpha=0.5, min_relative_change=0.0))

        assert {(f.button, f.variant) for f in findings} == {PLANTED}

    def test_with_binomial_noise_the_drop_still_alerts_and_nothing_else_does(
        self,
    ) -> None:
        rows = simulate_days(BASE_RATES, drop={PLANTED: 0.7}, rng=random.Random(7))

        alerts = alerts_to_send(compare(rows), {})

        assert [key for key, _ in alerts] == ["cta|colors|drop"]

    def test_the_daily_trend_shows_the_drop_in_the_last_seven_days(self) -> None:
        rows = simulate_days(BASE_RATES, drop={PLANTED: 0.7})

        points = [
            point
            for point in daily_series(rows, today=day(DAYS))
            if (point.button, point.variant) == PLANTED
        ]

        assert len(points) == DAYS
        before = {p.click_through_rate for p in points if p.date < CURRENT.start}
        after = {p.click_through_rate for p in points if p.date >= CURRENT.start}
        assert before == {0.06}
        assert after == {0.042}


# --- False alarms ---------------------------------------------------------------------


def binomial_upper_count(trials: int, rate: float, tail: float) -> int:
    """The smallest k with P(Binomial(trials, rate) > k) <= tail."""
    cumulative = 0.0
    for k in range(trials + 1):
        cumulative += math.comb(trials, k) * rate**k * (1.0 - rate) ** (trials - k)
        if 1.0 - cumulative <= tail:
            return k
    return trials


class TestFalseAlarms:
    RUNS = 100

    @staticmethod
    def null_runs(
        seed: int, runs: int, *, weekly_traffic: bool = False
    ) -> Iterable[list[DailyCounts]]:
        """Runs of 5 buttons x 2 variants over 14 days at constant true rates.

        Each run draws its true rates and its traffic; every day then draws
        binomial clicks. With ``weekly_traffic`` the day's traffic also swings
        between half and one and a half times the run's average, by weekday.
        """
        rng = random.Random(seed)
        for _ in range(runs):
            rates = {key: rng.uniform(0.02, 0.12) for key in BASE_RATES}
            users = rng.randint(200, 900)
            if not weekly_traffic:
                yield simulate_days(
                    rates, days=range(14, 28), rng=rng, users_per_day=users
                )
                continue
            rows: list[DailyCounts] = []
            for index in range(14, 28):
                swing = 0.5 + (index % 7) / 6
                rows += simulate_days(
                    rates,
                    days=[index],
                    rng=rng,
                    users_per_day=round(users * swing),
                )
            yield rows

    def test_constant_rates_with_daily_noise_alert_at_most_at_the_false_alarm_rate(
        self,
    ) -> None:
        """100 runs with nothing changed alert in at most alpha x 100 of them.

        Findings are one Holm family at alpha per run; alerts are the findings
        that are also larger than the alert size (10%) after a second Holm
        family at alpha, so they stay well under alpha: 1 of these 100 runs
        alerts, and 7 of 3,000 runs of the same simulation (0.23%). Findings
        alone run at alpha: 11 of these 100 runs (4.6% over the 3,000), inside
        the 99.9% binomial bound at alpha (13).
        """
        config = TrendConfig()
        runs_with_findings = runs_with_alerts = alerts_total = 0
        for rows in self.null_runs(20240501, self.RUNS):
            findings = compare(rows, config)
            alerts = alerts_to_send(findings, {})
            runs_with_findings += bool(findings)
            runs_with_alerts += bool(alerts)
            alerts_total += len(alerts)

        assert runs_with_alerts <= config.alpha * self.RUNS
        assert alerts_total <= config.alpha * self.RUNS
        bound = binomial_upper_count(self.RUNS, config.alpha, 0.001)
        assert bound == 13
        assert runs_with_findings <= bound

    def test_weekday_swings_in_traffic_do_not_raise_false_alarms(self) -> None:
        """Traffic that varies by weekday, rates constant: the same bound holds."""
        config = TrendConfig()
        runs_with_alerts = 0
        for rows in self.null_runs(20240502, self.RUNS, weekly_traffic=True):
            runs_with_alerts += bool(alerts_to_send(compare(rows, config), {}))

        assert runs_with_alerts <= config.alpha * self.RUNS

    def test_changes_just_under_the_alert_size_alert_at_most_at_alpha(self) -> None:
        """Every series drops by a true 9%; the alert size is 10%.

        Alerts test "larger than 10%" as one Holm family at alpha, so at most
        alpha of the analyses alert on any of these buttons: 200 analyses stay
        within the 99.9% binomial bound at alpha.
        """
        runs = 200
        rng = random.Random(20240503)
        config = TrendConfig()
        runs_with_alerts = 0
        for _ in range(runs):
            rows = simulate_days(
                BASE_RATES,
                days=range(14, 28),
                drop=dict.fromkeys(BASE_RATES, 0.91),
                rng=rng,
            )
            runs_with_alerts += any(f.alert for f in compare(rows, config))

        assert runs_with_alerts <= binomial_upper_count(runs, config.alpha, 0.001)

    def test_one_change_just_under_the_alert_size_alerts_at_most_at_alpha(
        self,
    ) -> None:
        """One series, a true 9% drop at 5% CTR and 1,000 users a period.

        The test that the drop is larger than 10% works on the log scale of the
        rate ratio, whose error stays at its level for drops at such counts.
        """
        runs = 2000
        rng = random.Random(20240505)
        config = TrendConfig()
        alerts = 0
        for _ in range(runs):
            before = binomial(rng, 1000, 0.05)
            after = binomial(rng, 1000, 0.05 * 0.91)
            findings = period_over_period(
                [counts("cta", "colors", after, 1000)],
                [counts("cta", "colors", before, 1000)],
                current_period=CURRENT,
                previous_period=PREVIOUS,
                config=config,
            )
            alerts += any(f.alert for f in findings)

        assert alerts <= binomial_upper_count(runs, config.alpha, 0.001)

    def test_a_small_change_on_heavy_traffic_is_found_but_does_not_alert(
        self,
    ) -> None:
        rng = random.Random(20240504)
        runs_with_findings = runs_with_alerts = 0
        for _ in range(20):
            rows = simulate_days(
                BASE_RATES, drop={PLANTED: 0.95}, rng=rng, users_per_day=20_000
            )
            findings = compare(rows)
            runs_with_findings += any(f.label == "cta on colors" for f in findings)
            runs_with_alerts += bool(alerts_to_send(findings, {}))

        assert runs_with_findings >= 10
        assert runs_with_alerts == 0

    def test_the_bound_would_catch_an_uncorrected_procedure(self) -> None:
        """The same traffic tested per series at alpha, without Holm, exceeds it."""
        rng = random.Random(20240501)
        runs_with_findings = 0
        for _ in range(self.RUNS):
            rates = {key: rng.uniform(0.02, 0.12) for key in BASE_RATES}
            rows = simulate_days(
                rates, days=range(14, 28), rng=rng, users_per_day=rng.randint(200, 900)
            )
            current = totals(rows, CURRENT)
            previous = totals(rows, PREVIOUS)
            uncorrected = [
                period_over_period(
                    [now],
                    [before],
                    current_period=CURRENT,
                    previous_period=PREVIOUS,
                    config=TrendConfig(min_relative_change=0.0),
                )
                for now, before in zip(current, previous, strict=True)
            ]
            runs_with_findings += any(uncorrected)

        assert runs_with_findings > binomial_upper_count(self.RUNS, 0.05, 0.001)


# --- Daily series ---------------------------------------------------------------------


def daily(
    date: datetime.date,
    *,
    button: str = "cta",
    variant: str = "colors",
    exposed: int | None = 200,
    clicking: int = 10,
    exposure_events: int = 250,
) -> DailyCounts:
    return DailyCounts(
        date=date,
        button=button,
        variant=variant,
        exposed_users=exposed,
        exposure_events=exposure_events,
        clicking_users=clicking,
        click_events=clicking,
    )


class TestDailySeries:
    def test_days_without_data_are_gaps_not_zeros(self) -> None:
        rows = [daily(day(0)), daily(day(1)), daily(day(3))]

        points = daily_series(rows, today=day(10))

        assert [p.date for p in points] == [day(0), day(1), day(3)]
        assert all(p.click_through_rate == 0.05 for p in points)

    def test_the_partial_current_day_is_left_out_unless_asked_for(self) -> None:
        rows = [daily(day(0)), daily(day(1))]

        without = daily_series(rows, today=day(1))
        with_partial = daily_series(
            rows, today=day(1), config=TrendConfig(include_partial_day=True)
        )

        assert [p.date for p in without] == [day(0)]
        assert [p.date for p in with_partial] == [day(0), day(1)]

    def test_days_after_today_are_always_left_out(self) -> None:
        rows = [daily(day(0)), daily(day(2))]

        points = daily_series(
            rows, today=day(1), config=TrendConfig(include_partial_day=True)
        )

        assert [p.date for p in points] == [day(0)]

    def test_without_today_every_day_is_kept(self) -> None:
        assert len(daily_series([daily(day(0)), daily(day(1))], today=None)) == 2

    def test_a_restated_day_replaces_the_earlier_numbers(self) -> None:
        stored = [daily(day(0), clicking=40), daily(day(1), clicking=20)]
        restated = [daily(day(1), clicking=95)]

        points = daily_series([*stored, *restated], today=day(5))

        assert [p.clicking_users for p in points] == [40, 95]

    def test_only_the_largest_series_are_kept_real_ones_first(self) -> None:
        rows = [
            daily(day(0), button="(not set)", exposure_events=10_000),
            daily(day(0), button="big", exposure_events=5_000),
            daily(day(0), button="medium", exposure_events=1_000),
            daily(day(1), button="medium", exposure_events=1_000),
            daily(day(0), button="small", exposure_events=100),
        ]

        points = daily_series(rows, today=None, config=TrendConfig(max_series=2))

        assert [(p.button, p.date) for p in points] == [
            ("big", day(0)),
            ("medium", day(0)),
            ("medium", day(1)),
        ]

    def test_only_the_last_max_days_are_kept_counted_from_the_latest_day(
        self,
    ) -> None:
        rows = [daily(day(n)) for n in range(10)] + [daily(day(2), button="old")]

        points = daily_series(rows, today=None, config=TrendConfig(max_days=3))

        assert [(p.button, p.date) for p in points] == [
            ("cta", day(7)),
            ("cta", day(8)),
            ("cta", day(9)),
        ]

    def test_the_default_bounds_keep_a_trend_well_under_the_payload_limit(
        self,
    ) -> None:
        rows = [
            daily(day(n), button=f"button_{b}", exposed=5000, clicking=123)
            for n in range(400)
            for b in range(30)
        ]

        points = daily_series(rows, today=None)
        size = len(json.dumps(make_cattrs_converter().unstructure(points)))

        assert len(points) == 10 * 31
        assert size < 80_000

    def test_a_day_without_exposures_has_no_rate(self) -> None:
        (point,) = daily_series([daily(day(0), exposed=None)], today=None)

        assert point.click_through_rate is None
        assert point.interval is None

    def test_clicks_above_exposures_are_capped(self) -> None:
        (point,) = daily_series([daily(day(0), exposed=5, clicking=7)], today=None)

        assert point.click_through_rate == 1.0
        assert point.interval is not None
        assert point.interval.upper == 1.0

    @settings(max_examples=100, deadline=None)
    @given(
        rows=st.lists(
            st.builds(
                daily,
                st.dates(datetime.date(2024, 1, 1), datetime.date(2024, 1, 20)),
                button=st.sampled_from(["cta", "nav", "(other)", "card"]),
                variant=st.sampled_from(["original", "colors"]),
                exposed=st.one_of(st.none(), st.integers(0, 500)),
                clicking=st.integers(0, 600),
                exposure_events=st.integers(0, 1000),
            ),
            max_size=60,
        ),
        today=st.one_of(
            st.none(), st.dates(datetime.date(2024, 1, 1), datetime.date(2024, 1, 20))
        ),
        max_series=st.integers(1, 5),
        max_days=st.integers(1, 25),
    )
    def test_points_are_sorted_unique_bounded_and_finite(
        self,
        rows: list[DailyCounts],
        today: datetime.date | None,
        max_series: int,
        max_days: int,
    ) -> None:
        config = TrendConfig(max_series=max_series, max_days=max_days)

        points = daily_series(rows, today=today, config=config)

        keys = [(p.button, p.variant, p.date) for p in points]
        assert keys == sorted(set(keys))
        assert len({(p.button, p.variant) for p in points}) <= max_series
        if points:
            span = max(p.date for p in points) - min(p.date for p in points)
            assert span.days < max_days
        given_days = {(r.button, r.variant, r.date) for r in rows}
        assert set(keys) <= given_days
        for point in points:
            assert today is None or point.date < today
            rate = point.click_through_rate
            if rate is not None:
                assert point.interval is not None
                assert math.isfinite(rate)
                assert point.interval.contains(rate)


# --- Period over period ---------------------------------------------------------------


class TestPeriodOverPeriod:
    def test_the_previous_period_is_equally_long_and_just_before(self) -> None:
        assert previous_period_of(CURRENT) == PREVIOUS
        one_day = Period(day(3), day(3))
        assert previous_period_of(one_day) == Period(day(2), day(2))

    def test_periods_of_different_length_are_refused(self) -> None:
        with pytest.raises(ValueError, match="equally long"):
            period_over_period(
                [],
                [],
                current_period=CURRENT,
                previous_period=Period(
                    PREVIOUS.start, PREVIOUS.end - datetime.timedelta(days=1)
                ),
            )

    def test_an_overlapping_previous_period_is_refused(self) -> None:
        with pytest.raises(ValueError, match="does not end before"):
            period_over_period([], [], current_period=CURRENT, previous_period=CURRENT)

    def test_a_rise_is_a_finding_too(self) -> None:
        (rise,) = period_over_period(
            [counts("cta", "colors", 600, 7000)],
            [counts("cta", "colors", 420, 7000)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert rise.direction is ChangeDirection.RISE
        assert rise.alert
        assert alert_key(rise) == "cta|colors|rise"

    def test_a_significant_but_small_change_is_a_finding_without_alert(self) -> None:
        (small,) = period_over_period(
            [counts("cta", "colors", 95_000, 1_000_000)],
            [counts("cta", "colors", 100_000, 1_000_000)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert small.relative_change == pytest.approx(-0.05)
        assert not small.alert

    def test_an_alert_needs_the_change_larger_than_the_alert_size_with_confidence(
        self,
    ) -> None:
        """Alone in its family, the drop alerts while p("at most the size") <= alpha."""
        old, new = (420, 7000), (294, 7000)
        log_ratio = math.log(294 / 420)
        se = math.sqrt(1 / 294 - 1 / 7000 + 1 / 420 - 1 / 7000)
        # The size at which the one-sided p-value is exactly alpha = 0.05.
        edge = -math.expm1(log_ratio + NormalDist().inv_cdf(0.95) * se)

        for size, alerts in ((edge - 0.001, True), (edge + 0.001, False)):
            (drop,) = period_over_period(
                [counts("cta", "colors", *new)],
                [counts("cta", "colors", *old)],
                current_period=CURRENT,
                previous_period=PREVIOUS,
                config=TrendConfig(min_relative_change=size),
            )
            assert drop.alert_p_value == pytest.approx(
                ratio_beyond_p_value(old, new, size)
            )
            assert drop.alert is alerts
        assert 0.15 < edge < 0.25

    def test_the_alert_test_is_corrected_for_every_button_that_may_alert(
        self,
    ) -> None:
        drop_now, drop_before = (320, 7000), (420, 7000)
        steady = [(f"steady{i}", 5000, 100_000) for i in range(9)]
        raw = ratio_beyond_p_value(drop_before, drop_now, 0.10)
        assert raw is not None

        findings = period_over_period(
            [counts("cta", "colors", *drop_now)]
            + [counts(name, "colors", c, n) for name, c, n in steady],
            [counts("cta", "colors", *drop_before)]
            + [counts(name, "colors", c, n) for name, c, n in steady],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )
        placeholders = period_over_period(
            [counts("cta", "colors", *drop_now)]
            + [counts("(not set)", name, c, n) for name, c, n in steady],
            [counts("cta", "colors", *drop_before)]
            + [counts("(not set)", name, c, n) for name, c, n in steady],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        (drop,) = findings
        assert raw < 0.05 < 10 * raw
        assert drop.alert_p_value == pytest.approx(10 * raw)
        assert not drop.alert
        # Placeholders can never alert, so they are not in the alert family.
        (alone,) = placeholders
        assert alone.alert_p_value == pytest.approx(raw)
        assert alone.alert

    def test_placeholder_buttons_and_variants_never_alert(self) -> None:
        names = [
            ("(not set)", "colors"),
            ("cta", "(other)"),
            (" (Not Set) ", "colors"),
            ("cta", "(NOT PROVIDED)"),
        ]
        findings = period_over_period(
            [counts(button, variant, 300, 7000) for button, variant in names],
            [counts(button, variant, 600, 7000) for button, variant in names],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert len(findings) == 4
        assert not any(f.alert for f in findings)

    def test_more_clicking_than_exposed_users_gives_a_finding_without_alert(
        self,
    ) -> None:
        (rise,) = period_over_period(
            [counts("cta", "colors", 8000, 7000)],
            [counts("cta", "colors", 420, 7000)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert rise.current_rate == 1.0
        assert rise.alert_p_value is None
        assert not rise.alert

    def test_flagged_data_gives_findings_without_alerts(self) -> None:
        (drop,) = period_over_period(
            [counts("cta", "colors", 300, 7000)],
            [counts("cta", "colors", 600, 7000)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
            flagged=True,
        )

        assert not drop.alert

    def test_a_rise_from_zero_has_no_relative_change_and_does_not_alert(self) -> None:
        (rise,) = period_over_period(
            [counts("cta", "colors", 60, 7000)],
            [counts("cta", "colors", 0, 7000)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert rise.relative_change is None
        assert rise.difference == pytest.approx(60 / 7000)
        assert not rise.alert
        assert alerts_to_send([rise], {}) == []

    def test_thin_data_is_never_a_finding(self) -> None:
        findings = period_over_period(
            [counts("cta", "colors", 0, 90)],
            [counts("cta", "colors", 40, 90)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert findings == ()

    def test_series_missing_from_a_period_or_without_exposures_are_skipped(
        self,
    ) -> None:
        findings = period_over_period(
            [counts("new", "colors", 300, 7000), counts("cta", "colors", 300, None)],
            [counts("old", "colors", 600, 7000), counts("cta", "colors", 600, None)],
            current_period=CURRENT,
            previous_period=PREVIOUS,
        )

        assert findings == ()

    @settings(max_examples=100, deadline=None)
    @given(
        pairs=st.lists(
            st.tuples(
                st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 3000)
            ).map(lambda t: (min(t[0], t[2]), min(t[1], t[2]), t[2])),
            min_size=1,
            max_size=8,
        ),
        alpha=st.floats(0.001, 0.5),
        min_change=st.floats(0.0, 1.0),
    )
    def test_findings_are_significant_and_alerts_are_large_findings(
        self,
        pairs: list[tuple[int, int, int]],
        alpha: float,
        min_change: float,
    ) -> None:
        config = TrendConfig(alpha=alpha, min_relative_change=min_change)
        current = [counts(f"b{i}", "v", now, n) for i, (_, now, n) in enumerate(pairs)]
        previous = [counts(f"b{i}", "v", old, n) for i, (old, _, n) in enumerate(pairs)]

        findings = period_over_period(
            current,
            previous,
            current_period=CURRENT,
            previous_period=PREVIOUS,
            config=config,
        )

        for found in findings:
            assert found.adjusted_p_value <= alpha
            assert found.p_value <= found.adjusted_p_value
            assert (found.difference < 0) == (found.direction is ChangeDirection.DROP)
            assert found.difference != 0
            interval = found.change_interval
            if found.relative_change is not None:
                assert interval is not None
                assert interval.lower <= found.relative_change <= interval.upper
                assert interval.lower >= -1.0
            if found.alert:
                old, new = (found_pair := pairs[int(found.button[1:])])[:2]
                raw = ratio_beyond_p_value(
                    (old, found_pair[2]), (new, found_pair[2]), min_change
                )
                assert raw is not None
                assert found.alert_p_value is not None
                assert raw <= found.alert_p_value <= alpha
                assert found.relative_change is not None
                assert abs(found.relative_change) >= min_change
                if found.direction is ChangeDirection.DROP:
                    assert found.relative_change <= -min_change
            for value in (found.previous_rate, found.current_rate, found.difference):
                assert math.isfinite(value)


# --- Alert selection and text ---------------------------------------------------------


class TestAlerts:
    def test_a_finding_without_alert_is_never_sent(self) -> None:
        assert alerts_to_send([finding(alert=False)], {}) == []

    def test_a_recorded_drop_is_sent_again_only_when_it_grew_by_the_margin(
        self,
    ) -> None:
        sent = {"cta|colors|drop": record(-0.30)}

        assert alerts_to_send([finding(relative_change=-0.34)], sent) == []
        assert alerts_to_send([finding(relative_change=-0.20)], sent) == []
        assert len(alerts_to_send([finding(relative_change=-0.35)], sent)) == 1

    @pytest.mark.parametrize(
        ("recorded", "error"),
        [
            (math.nan, ValueError),
            (math.inf, ValueError),
            (-math.inf, ValueError),
            (10**400, ValueError),
            (None, TypeError),
            (True, TypeError),
            ("-0.3", TypeError),
        ],
    )
    def test_a_record_that_is_not_a_finite_number_cannot_be_made(
        self, recorded: object, error: type[Exception]
    ) -> None:
        with pytest.raises(error, match="relative_change must be a"):
            SentAlert(relative_change=recorded, analysis_id="a-1")  # type: ignore[arg-type]

    def test_a_change_after_the_one_alerted_is_new_even_when_no_larger(self) -> None:
        sent = {"cta|colors|drop": record(-0.30)}  # days 14 to 27
        week = datetime.timedelta(days=7)
        # The next week's comparison still holds day 27: it may be the same drop.
        next_week = finding(
            previous_period=Period(PREVIOUS.start + week, PREVIOUS.end + week),
            current_period=Period(CURRENT.start + week, CURRENT.end + week),
        )
        # Two weeks on, the comparison starts on day 28: a drop there is new.
        later = finding(
            previous_period=Period(CURRENT.start + week, CURRENT.end + week),
            current_period=Period(CURRENT.start + 2 * week, CURRENT.end + 2 * week),
        )

        assert alerts_to_send([next_week], sent) == []
        assert [f for _, f in alerts_to_send([later], sent)] == [later]

    def test_the_same_change_is_measured_from_the_rate_before_it(self) -> None:
        """6.0% -> 4.2% alerted; the next week's comparison (4.2% -> ...) may hold
        the same drop, so its size is counted from the 6.0%."""
        sent = {"cta|colors|drop": record(-0.30)}
        week = datetime.timedelta(days=7)

        def next_week(current_rate: float) -> ChangeFinding:
            return finding(
                previous_period=CURRENT,
                current_period=Period(CURRENT.start + week, CURRENT.end + week),
                previous_rate=0.042,
                current_rate=current_rate,
                relative_change=current_rate / 0.042 - 1.0,
            )

        # 4.2% -> 3.36% is -20% on its own, and -44% of the 6.0%: 14 points more.
        assert len(alerts_to_send([next_week(0.0336)], sent)) == 1
        # 4.2% -> 4.0% is -33% of the 6.0%: 3 points more, under the margin.
        assert alerts_to_send([next_week(0.040)], sent) == []
        # Without the rate before the change, the finding's own -20% is compared.
        legacy = {"cta|colors|drop": record(-0.30, previous_rate=None)}
        assert alerts_to_send([next_week(0.0336)], legacy) == []

    def test_one_day_analyses_on_consecutive_days_hold_different_changes(
        self,
    ) -> None:
        sent = {"cta|colors|drop": record(-0.30, span=Period(day(0), day(1)))}
        today = finding(
            previous_period=Period(day(1), day(1)),
            current_period=Period(day(2), day(2)),
        )
        again = finding(
            previous_period=Period(day(0), day(0)),
            current_period=Period(day(1), day(1)),
        )

        assert len(alerts_to_send([today], sent)) == 1
        assert alerts_to_send([again], sent) == []

    def test_a_backfilled_change_before_the_one_alerted_stays_quiet(self) -> None:
        sent = {"cta|colors|drop": record(-0.30)}  # days 14 to 27
        earlier = finding(
            previous_period=Period(day(0), day(6)),
            current_period=Period(day(7), day(13)),
        )
        # Ending on day 14 it cannot hold the change either: an older one.
        touching = finding(
            previous_period=Period(day(1), day(7)),
            current_period=Period(day(8), day(14)),
        )
        # Ending on day 15 it may hold the same change; only growth re-alerts.
        overlapping = finding(
            previous_period=Period(day(2), day(8)),
            current_period=Period(day(9), day(15)),
        )
        much_larger = finding(
            previous_period=Period(day(0), day(6)),
            current_period=Period(day(7), day(13)),
            relative_change=-0.6,
        )

        assert alerts_to_send([earlier], sent) == []
        assert alerts_to_send([touching], sent) == []
        assert alerts_to_send([much_larger], sent) == []
        assert alerts_to_send([overlapping], sent) == []
        assert len(alerts_to_send([earlier], {})) == 1  # nothing told before

    def test_a_backfill_between_runs_never_brings_back_a_told_change(self) -> None:
        """Alert week 3 against week 2, backfill week 1, re-run week 3."""
        state: dict[str, SentAlert] = {}

        def run(first: int, length: int = 7) -> int:
            found = finding(
                previous_period=Period(day(first - length), day(first - 1)),
                current_period=Period(day(first), day(first + length - 1)),
            )
            due = alerts_to_send([found], state)
            state.update((key, SentAlert.of(f, f"run-{first}")) for key, f in due)
            return len(due)

        assert [run(21), run(7), run(21)] == [1, 0, 0]
        # One-day analyses: day 14 against 13, 15 against 14, then 14 again.
        state.clear()
        assert [run(14, 1), run(15, 1), run(14, 1)] == [1, 1, 0]

    def test_an_alert_whose_days_are_unknown_counts_as_the_same_change(
        self,
    ) -> None:
        sent = {"cta|colors|drop": record(-0.30, span=None)}
        much_later = finding(
            previous_period=Period(day(400), day(406)),
            current_period=Period(day(407), day(413)),
        )

        assert alerts_to_send([much_later], sent) == []
        worse = finding(
            previous_period=much_later.previous_period,
            current_period=much_later.current_period,
            relative_change=-0.35,
        )
        assert len(alerts_to_send([worse], sent)) == 1

    @settings(max_examples=300, deadline=None)
    @given(
        alerted=st.tuples(st.integers(0, 60), st.integers(1, 30)),
        found=st.tuples(st.integers(0, 60), st.integers(1, 30)),
    )
    def test_a_change_is_due_exactly_when_every_day_that_could_hold_it_is_later(
        self, alerted: tuple[int, int], found: tuple[int, int]
    ) -> None:
        """A comparison of P and C holds a change first seen on a day in
        (P.start, C.end]. When every such day of the finding comes after those
        of the change alerted, it is a newer change; when they share a day it
        may be the same, and when all come before it is older."""
        (first, length), (found_first, found_length) = alerted, found
        span = Period(day(first), day(first + 2 * length - 1))
        found_finding = finding(
            previous_period=Period(
                day(found_first), day(found_first + found_length - 1)
            ),
            current_period=Period(
                day(found_first + found_length),
                day(found_first + 2 * found_length - 1),
            ),
        )
        could_hold_alerted = set(range(first + 1, first + 2 * length))
        could_hold_found = set(range(found_first + 1, found_first + 2 * found_length))

        due = alerts_to_send(
            [found_finding], {"cta|colors|drop": record(-0.30, span=span)}
        )

        assert bool(due) == (min(could_hold_found) > max(could_hold_alerted))

    def test_a_zero_margin_resends_any_growth_but_never_the_same_change(self) -> None:
        config = TrendConfig(worsen_margin=0.0)
        sent = {"cta|colors|drop": record(-0.30)}

        assert alerts_to_send([finding()], sent, config=config) == []
        assert alerts_to_send([finding(relative_change=-0.31)], sent, config=config)

    def test_a_rise_and_a_drop_of_one_button_have_their_own_keys(self) -> None:
        rise = finding(direction=ChangeDirection.RISE, relative_change=0.3)

        due = alerts_to_send([rise], {"cta|colors|drop": record(-0.3)})

        assert [key for key, _ in due] == ["cta|colors|rise"]

    def test_keys_escape_separators_so_names_never_collide(self) -> None:
        one = finding(button="a|b", variant="c")
        other = finding(button="a", variant="b|c")
        nul = finding(button="a\x00b", variant="c\\")

        assert alert_key(one) != alert_key(other)
        assert "\x00" not in alert_key(nul)
        assert alert_key(nul) == "a\\0b|c\\\\|drop"

    @settings(max_examples=100, deadline=None)
    @given(
        changes=st.lists(
            st.tuples(
                st.sampled_from(["cta", "nav", "card"]),
                st.sampled_from([ChangeDirection.DROP, ChangeDirection.RISE]),
                st.floats(0.0, 0.99),
                st.booleans(),
            ),
            max_size=12,
        ),
        margin=st.floats(0.0, 0.5),
    )
    def test_recording_what_was_due_leaves_nothing_due(
        self,
        changes: list[tuple[str, ChangeDirection, float, bool]],
        margin: float,
    ) -> None:
        config = TrendConfig(worsen_margin=margin)
        findings = [
            finding(
                button=button,
                direction=direction,
                relative_change=size if direction is ChangeDirection.RISE else -size,
                alert=alert,
            )
            for button, direction, size, alert in changes
        ]

        due = alerts_to_send(findings, {}, config=config)
        recorded = {key: SentAlert.of(f, "analysis-1") for key, f in due}

        assert all(f.alert for _, f in due)
        assert len(recorded) == len(due)
        assert alerts_to_send(findings, recorded, config=config) == []

    def test_the_text_has_both_rates_the_change_its_interval_and_the_analysis(
        self,
    ) -> None:
        findings = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.7}))

        text = render_alert_text(
            findings[0],
            property_id="123456789",
            analysis_id="button-analysis-123456789-2024-05-29",
            analysis_url="https://dash.example/analyses/1",
        )

        assert "Click-through rate drop: cta on colors (property 123456789)" in text
        assert "6.0% -> 4.2% (-30%, 95% CI -39% to -19%; adjusted p < 0.001)" in text
        assert "2024-05-22..2024-05-28 (7,000 users exposed)" in text
        assert "2024-05-15..2024-05-21" in text
        assert text.endswith(
            "Analysis button-analysis-123456789-2024-05-29: "
            "https://dash.example/analyses/1"
        )

    def test_a_change_is_described_in_one_line_for_summaries(self) -> None:
        assert describe_change(finding(change_interval=Interval(-0.4, -0.2))) == (
            "cta on colors: CTR 6.0% -> 4.2% (-30%, 95% CI -40% to -20%; "
            "adjusted p < 0.001)"
        )

    def test_a_change_without_relative_size_is_described_in_points(self) -> None:
        text = render_alert_text(
            finding(relative_change=None, difference=0.012, previous_rate=0.0),
            property_id="1",
            analysis_id="a",
        )

        assert "+1.2 points" in text


# --- Baselines ------------------------------------------------------------------------


def report(**changes: object) -> ButtonReport:
    base = ButtonReport(
        property_id="123456789",
        period=CURRENT,
        schema_name="test",
        counts=(counts("cta", "colors", 300, 7000),),
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def stored(period: Period, property_id: str = "123456789") -> AnalysisRecord:
    metrics = ButtonMetrics(
        button="cta",
        variant="colors",
        exposed_users=7000,
        exposure_events=8000,
        clicking_users=420,
        click_events=450,
        hovering_users=900,
        hover_events=1000,
        click_through_rate=0.06,
        click_through_interval=None,
        hover_to_click_rate=None,
        mean_hover_duration_ms=None,
        engagement_score=0.5,
    )
    insights = ButtonInsights(
        timestamp=datetime.datetime(2024, 5, 22, tzinfo=datetime.timezone.utc),
        best_performing_button=None,
        worst_performing_button=None,
        most_engaging_variant=None,
        recommendations=(),
        performance_summary={},
        property_id=property_id,
        period=period,
        buttons=(metrics,),
    )
    return AnalysisRecord(
        analysis_id="previous-analysis",
        workflow_id="previous-analysis",
        run_id="run",
        property_id=property_id,
        period=period,
        saved_at=datetime.datetime(2024, 5, 22, tzinfo=datetime.timezone.utc),
        insights=insights,
    )


class TestBaseline:
    def test_ga4_previous_counts_win_over_the_stored_analysis(self) -> None:
        fresh = (counts("cta", "colors", 430, 7000),)

        baseline = baseline_for(
            report(previous_period=PREVIOUS, previous_counts=fresh), stored(PREVIOUS)
        )

        assert baseline is not None
        assert baseline.counts == fresh
        assert baseline.analysis_id is None

    def test_the_previous_stored_analysis_serves_when_it_covered_the_period(
        self,
    ) -> None:
        baseline = baseline_for(report(), stored(PREVIOUS))

        assert baseline is not None
        assert baseline.period == PREVIOUS
        assert baseline.analysis_id == "previous-analysis"
        assert [
            (c.button, c.clicking_users, c.exposed_users) for c in baseline.counts
        ] == [("cta", 420, 7000)]

    def test_no_baseline_when_nothing_covers_the_preceding_period(self) -> None:
        other_length = Period(PREVIOUS.start, PREVIOUS.end - datetime.timedelta(days=1))

        assert baseline_for(report()) is None
        assert baseline_for(report(), stored(other_length)) is None
        assert baseline_for(report(), stored(PREVIOUS, property_id="999")) is None


class TestShownInTheInsights:
    """Whether a previous period was compared is said, found changes or not."""

    def test_findings_are_listed_under_the_period_they_are_measured_from(
        self,
    ) -> None:
        insights = attrs.evolve(
            stored(CURRENT).insights,
            changes=(finding(change_interval=Interval(-0.4, -0.2)),),
            changes_since=PREVIOUS,
        )

        text = render_text(insights)

        assert f"Changes since {PREVIOUS}:" in text
        assert "  ALERT-SIZED cta on colors: CTR 6.0% -> 4.2% (-30%" in text
        assert "No significant" not in text

    def test_a_comparison_that_found_nothing_says_so(self) -> None:
        insights = attrs.evolve(stored(CURRENT).insights, changes_since=PREVIOUS)

        text = render_text(insights)

        assert (
            f"No significant click-through change since {PREVIOUS}."
            in text.splitlines()
        )

    def test_without_a_previous_period_nothing_is_claimed(self) -> None:
        text = render_text(stored(CURRENT).insights)

        assert "since" not in text

    def test_the_summary_gives_each_series_first_and_last_day_and_its_length(
        self,
    ) -> None:
        one_day = daily_series([daily(day(3))], today=None)
        two_days = daily_series([daily(day(3)), daily(day(4))], today=None)

        def summary(trend: tuple[TrendPoint, ...]) -> str:
            return render_text(attrs.evolve(stored(CURRENT).insights, trend=trend))

        assert "(1 day)" in summary(one_day)
        assert f"on {day(3)} -> " in summary(two_days)
        assert "(2 days)" in summary(two_days)

    def test_the_document_carries_the_period_and_matches_its_schema(self) -> None:
        insights = attrs.evolve(
            generate_insights(
                compute_metrics(report()),
                generated_at=datetime.datetime(
                    2024, 5, 29, tzinfo=datetime.timezone.utc
                ),
            ),
            changes=(finding(change_interval=Interval(-0.4, -0.2)),),
            changes_since=PREVIOUS,
        )

        document = insights_document(insights)

        validate_insights_document(document)
        assert document["changes_since"] == {
            "start": PREVIOUS.start.isoformat(),
            "end": PREVIOUS.end.isoformat(),
        }
        assert json.loads(json.dumps(document)) == document

    def test_a_document_saved_before_the_field_existed_still_loads(self) -> None:
        document = insights_document(stored(CURRENT).insights)
        del document["changes_since"]

        loaded = make_cattrs_converter().structure(document, ButtonInsights)

        assert loaded.changes_since is None
        assert loaded == stored(CURRENT).insights


class TestSerialisation:
    def test_every_trend_model_round_trips_through_the_temporal_converter(
        self,
    ) -> None:
        (drop,) = compare(simulate_days(BASE_RATES, drop={PLANTED: 0.7}))
        point = daily_series([daily(day(0))], today=None)[0]
        alert = ChangeAlert(
            key=alert_key(drop),
            property_id="123456789",
            analysis_id="a-1",
            finding=drop,
            text="text",
        )
        baseline = Baseline(period=PREVIOUS, counts=(counts("cta", "colors", 1, 2),))
        converter = data_converter.payload_converter

        for value in (point, drop, alert, baseline, TrendConfig(max_series=3)):
            (payload,) = converter.to_payloads([value])
            assert converter.from_payloads([payload], [type(value)]) == [value]


class TestConfig:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("alpha", 0.0),
            ("alpha", 1.0),
            ("min_relative_change", -0.1),
            ("min_relative_change", math.inf),
            ("max_series", 0),
            ("worsen_margin", math.nan),
            ("min_trials", -1),
            ("confidence", 1.5),
        ],
    )
    def test_invalid_settings_are_refused(self, field: str, value: object) -> None:
        with pytest.raises(ValueError, match=field):
            TrendConfig(**{field: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("min_trials", 2.5),
            ("min_trials", True),
            ("min_successes", math.nan),
            ("max_series", math.inf),
            ("max_days", 1.5),
            ("alpha", "0.05"),
            ("min_relative_change", True),
            ("worsen_margin", None),
            ("include_partial_day", "yes"),
        ],
    )
    def test_settings_of_the_wrong_kind_are_refused_by_name(
        self, field: str, value: object
    ) -> None:
        with pytest.raises(TypeError, match=f"^{field} must be "):
            TrendConfig(**{field: value})  # type: ignore[arg-type]


class TestArguments:
    def test_a_reversed_period_is_refused(self) -> None:
        with pytest.raises(ValueError, match="before its start"):
            Period(day(5), day(1))

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"config": {"alpha": 0.01}}, "config must be a TrendConfig"),
            ({"flagged": "yes"}, "flagged must be True or False"),
        ],
    )
    def test_arguments_of_the_wrong_kind_are_named(
        self, arguments: dict[str, object], message: str
    ) -> None:
        with pytest.raises(TypeError, match=message):
            period_over_period(
                [],
                [],
                current_period=CURRENT,
                previous_period=PREVIOUS,
                **arguments,  # type: ignore[arg-type]
            )
