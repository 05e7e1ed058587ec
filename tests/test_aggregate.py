"""Folding GA4 rows: names from GA4 are cleaned, bounded and kept apart."""

from __future__ import annotations

import datetime

from ga4_button_workflows.aggregate import (
    MAX_NAME_CHARS,
    ReportBuilder,
    normalise_dimension_value,
)
from ga4_button_workflows.models import Period
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
