"""Folding GA4 rows: names from GA4 are cleaned, bounded and kept apart."""

from __future__ import annotations

import datetime

import pytest

from ga4_button_workflows.aggregate import (
    MAX_NAME_CHARS,
    DailyBuilder,
    ReportBuilder,
    normalise_dimension_value,
    normalise_report_names,
)
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonReport,
    DailyCounts,
    Period,
    VariantExposure,
)
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE

PERIOD = Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 7))


def test_two_long_names_sharing_their_start_stay_two_buttons() -> None:
    shared = "https://example.com/" + "a" * 200
    first, second = (
        normalise_dimension_value(shared + "/one"),
        (normalise_dimension_value(shared + "/two")),
    )
    assert first != second
    assert len(first) == len(second) == MAX_NAME_CHARS

    builder = ReportBuilder(ORIGINAL_LANDING_PAGE, property_id="1", period=PERIOD)
    for name in (shared + "/one", shared + "/two"):
        builder.add_row(
            event_name="cta_click",
            button=name,
            variant="original",
            event_count=10,
            users=5,
        )
    assert len(builder.build().counts) == 2


def test_control_characters_and_bidi_overrides_never_reach_a_name() -> None:
    assert normalise_dimension_value("a\tb\x00c\u202edcba\x1b[31m") == "a b cdcba [31m"
    assert normalise_dimension_value("   ") == "(not set)"
    assert normalise_dimension_value(None) == "(not set)"


def test_unknown_event_names_are_listed_cleaned_and_bounded() -> None:
    builder = ReportBuilder(ORIGINAL_LANDING_PAGE, property_id="1", period=PERIOD)
    for index in range(50):
        builder.add_row(
            event_name=f"odd\x00event{index}\u202e",
            button=None,
            variant=None,
            event_count=1,
            users=1,
        )
    (note,) = [n for n in builder.build().quality.notes if "ignored events" in n]
    assert "\x00" not in note
    assert "\u202e" not in note
    assert note.endswith("and others")
    assert note.count("odd event") <= 10


def test_a_report_from_a_hosts_own_source_gets_normal_names_kept_apart() -> None:
    raw = ButtonReport(
        property_id="1",
        period=PERIOD,
        schema_name="custom",
        control_variant="orig\x00inal",
        counts=(
            ButtonCounts(button="cta\n", variant="orig\x00inal", exposed_users=10),
            ButtonCounts(button="cta\t", variant="orig\x00inal", exposed_users=10),
            ButtonCounts(button="cta", variant="\u202ecolors", exposed_users=10),
        ),
        exposures=(VariantExposure(variant="\u202ecolors", users=10, events=10),),
        daily=(
            DailyCounts(
                date=PERIOD.start,
                button="cta\n",
                variant="orig\x00inal",
                exposed_users=5,
                exposure_events=5,
                clicking_users=1,
                click_events=1,
            ),
        ),
    )

    report = normalise_report_names(raw)

    buttons = [row.button for row in report.counts]
    assert buttons[2] == "cta"
    # "cta\n" and "cta\t" both clean to "cta": they stay two other buttons.
    assert len(set(buttons)) == 3
    assert all(name.startswith("cta#") for name in buttons[:2])
    assert report.control_variant == "orig inal"
    assert report.counts[0].variant == "orig inal"
    assert report.exposures[0].variant == "colors"
    assert report.daily[0].button == buttons[0]


def test_a_report_with_normal_names_is_returned_as_it_is() -> None:
    builder = ReportBuilder(ORIGINAL_LANDING_PAGE, property_id="1", period=PERIOD)
    builder.add_row(
        event_name="page_view", button=None, variant="original", event_count=5, users=5
    )
    report = builder.build()

    assert normalise_report_names(report) is report


class TestDailyBuilder:
    DAY = datetime.date(2026, 11, 2)

    def test_a_page_view_gives_every_button_of_its_variant_the_day(self) -> None:
        builder = DailyBuilder(ORIGINAL_LANDING_PAGE)
        builder.add_row(
            day=self.DAY,
            event_name="page_view",
            button=None,
            variant="colors",
            event_count=120,
            users=100,
        )
        builder.add_row(
            day=self.DAY,
            event_name="cta_click",
            button="cta",
            variant="colors",
            event_count=14,
            users=12,
        )

        rows, notes = builder.build([("cta", "colors"), ("navigation", "colors")])

        assert notes == ()
        assert rows == (
            DailyCounts(
                date=self.DAY,
                button="cta",
                variant="colors",
                exposed_users=100,
                exposure_events=120,
                clicking_users=12,
                click_events=14,
            ),
            DailyCounts(
                date=self.DAY,
                button="navigation",
                variant="colors",
                exposed_users=100,
                exposure_events=120,
            ),
        )

    def test_rows_of_other_events_are_ignored(self) -> None:
        builder = DailyBuilder(ORIGINAL_LANDING_PAGE)
        builder.add_row(
            day=self.DAY,
            event_name="scroll",
            button=None,
            variant="colors",
            event_count=5,
            users=5,
        )

        assert builder.build([("cta", "colors")]) == ((), ())

    @pytest.mark.parametrize(("events", "users"), [(-1, 1), (1, -1), (2**63, 1)])
    def test_impossible_counts_are_refused_with_the_event_named(
        self, events: int, users: int
    ) -> None:
        builder = DailyBuilder(ORIGINAL_LANDING_PAGE)

        with pytest.raises(ValueError, match="on event 'cta_click'"):
            builder.add_row(
                day=self.DAY,
                event_name="cta_click",
                button="cta",
                variant="colors",
                event_count=events,
                users=users,
            )
