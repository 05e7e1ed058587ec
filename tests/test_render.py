"""Text and Markdown renderings of the insights document."""

from __future__ import annotations

import datetime
import io
import re

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ga4_button_workflows._text import signed_percent
from ga4_button_workflows.insights import generate_insights
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    ButtonCounts,
    ButtonInsights,
    ButtonReport,
    DataQuality,
    Period,
    VariantExposure,
)
from ga4_button_workflows.notifiers.console import ConsoleNotifier
from ga4_button_workflows.render import render_markdown, render_text

PERIOD = Period(datetime.date(2024, 1, 1), datetime.date(2024, 1, 7))
NOW = datetime.datetime(2024, 1, 8, 6, 0, tzinfo=datetime.timezone.utc)
ZERO_PERCENT = re.compile(r"(?<![\d.])0(?:\.0+)?%")


def insights_for(
    *entries: ButtonCounts,
    exposures: dict[str, int] | None = None,
    quality: DataQuality | None = None,
    has_exposure_event: bool = True,
) -> ButtonInsights:
    source = ButtonReport(
        property_id="123456789",
        period=PERIOD,
        schema_name="test",
        counts=entries,
        exposures=tuple(
            VariantExposure(variant=name, users=users, events=users)
            for name, users in sorted((exposures or {}).items())
        ),
        has_exposure_event=has_exposure_event,
        quality=quality or DataQuality(),
    )
    return generate_insights(compute_metrics(source), generated_at=NOW)


def entry(
    button: str, variant: str, exposed: int | None, clicking: int
) -> ButtonCounts:
    return ButtonCounts(
        button=button,
        variant=variant,
        exposed_users=exposed,
        clicking_users=clicking,
        click_events=clicking,
    )


LANDING = insights_for(
    entry("cta", "original", 5000, 210),
    entry("cta", "colors", 5000, 305),
    entry("cta", "sizes", 5000, 212),
    exposures={"original": 5000, "colors": 5000, "sizes": 5000},
    quality=DataQuality(notes=("ignored events the schema does not name: scroll",)),
)


class TestText:
    def test_text_shows_picks_summary_recommendations_comparisons_and_caveats(
        self,
    ) -> None:
        text = render_text(LANDING)

        assert "Best performing button:  cta on colors" in text
        assert "Worst performing button: cta on original" in text
        assert "Most engaging variant:   colors (" in text
        assert "Buttons analysed: 3" in text
        assert "Exposed users: 15,000" in text
        assert "✅ colors beats original for cta: CTR 6.1% vs 4.2%, +45%" in text
        assert "colors vs original  6.1% vs 4.2%  +45%" in text
        assert "+20% to +70%" in text
        assert "better" in text
        assert "inconclusive" in text
        assert "- Ignored events the schema does not name: scroll." in text
        assert not text.endswith("\n")

    def test_no_data_says_so_instead_of_zero_percent(self) -> None:
        text = render_text(insights_for())

        assert "no data" in text
        assert not ZERO_PERCENT.search(text)
        assert "Comparisons" not in text

    def test_absent_rates_are_a_dash_not_zero(self) -> None:
        insights = insights_for(
            entry("cta", "original", None, 50),
            entry("cta", "colors", None, 80),
            has_exposure_event=False,
        )

        text = render_text(insights)

        assert "- vs -" in text
        assert "Exposed users: -" in text
        assert "no exposure event" in text
        assert not ZERO_PERCENT.search(text)

    def test_a_selection_note_is_shown(self) -> None:
        insights = insights_for(entry("cta", "original", 50, 5))

        assert "Note: not enough data" in render_text(insights)

    async def test_the_console_notifier_writes_the_text(self) -> None:
        stream = io.StringIO()

        await ConsoleNotifier(stream).send(LANDING, analysis_id="a-1")

        assert stream.getvalue() == f"Button analysis a-1\n{render_text(LANDING)}\n"


class TestMarkdown:
    def test_markdown_has_sections_and_a_comparisons_table(self) -> None:
        markdown = render_markdown(LANDING)

        assert markdown.startswith("## Button insights (2024-01-01..2024-01-07)\n")
        assert "- **Best performing button:** cta on colors" in markdown
        assert "### Recommendations" in markdown
        assert (
            "| Button | Variant | CTR | Lift | Interval | Adj. p | Verdict |"
            in markdown
        )
        assert "| cta | colors vs original | 6.1% vs 4.2% | +45% |" in markdown
        assert "### Caveats" in markdown

    def test_pipes_in_names_do_not_break_tables(self) -> None:
        insights = insights_for(
            entry("a|b", "original", 5000, 200),
            entry("a|b", "colors", 5000, 300),
        )

        markdown = render_markdown(insights)

        assert "| a\\|b | colors vs original |" in markdown

    def test_no_data_renders_without_tables_of_zeros(self) -> None:
        markdown = render_markdown(insights_for())

        assert "| Data | no data for the period |" in markdown
        assert "### Comparisons" not in markdown
        assert not ZERO_PERCENT.search(markdown)


class TestProperties:
    @settings(max_examples=40, deadline=None)
    @given(
        rows=st.lists(
            st.tuples(
                st.sampled_from(["cta", "nav", "(not set)"]),
                st.sampled_from(["original", "colors", "(other)"]),
                st.integers(0, 2000),
                st.integers(0, 2000),
            ),
            max_size=6,
            unique_by=lambda row: (row[0], row[1]),
        ),
        thresholded=st.booleans(),
    )
    def test_renderings_never_show_nan_or_infinity(
        self, rows: list[tuple[str, str, int, int]], thresholded: bool
    ) -> None:
        insights = insights_for(
            *(
                entry(b, v, exposed, clicking)
                for b, v, exposed, clicking in sorted(rows)
            ),
            quality=DataQuality(thresholded=thresholded),
        )

        for rendered in (render_text(insights), render_markdown(insights)):
            assert "nan" not in rendered.lower()
            assert "inf" not in rendered.lower().replace("info", "")

    def test_an_empty_document_renders(self) -> None:
        bare = attrs.evolve(
            LANDING,
            period=None,
            comparisons=(),
            caveats=(),
            recommendations=(),
            performance_summary={},
        )

        assert "none" in render_text(bare)
        assert "## Button insights\n" in render_markdown(bare)


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.0996, "-10%"), (-0.0994, "-9.9%"), (0.0999, "+10%"), (0.45, "+45%")],
)
def test_a_relative_change_keeps_its_digits_across_the_rounding_edge(
    value: float, text: str
) -> None:
    assert signed_percent(value) == text
