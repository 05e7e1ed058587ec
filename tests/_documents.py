"""Hand-built insights documents shared by the store and notifier tests."""

from __future__ import annotations

import datetime

from ga4_button_workflows.models import (
    ButtonInsights,
    ButtonMetrics,
    Period,
    Recommendation,
)
from ga4_button_workflows.stats import Interval, wilson_interval

HOSTILE_BUTTON = "<!channel> <script>alert(1)</script>"
"""A button name a visitor could make GA4 report; it must never run or ping."""

PROPERTY_ID = "123456789"
WEEK_1 = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))


def make_insights(
    *,
    property_id: str = PROPERTY_ID,
    period: Period = WEEK_1,
    cta_clicking_users: int = 84,
    with_hostile_button: bool = True,
) -> ButtonInsights:
    """A realistic insights document: the CTA and, optionally, a hostile name."""
    cta_rate = cta_clicking_users / 1200
    cta = ButtonMetrics(
        button="cta",
        variant="colors",
        exposed_users=1200,
        exposure_events=1530,
        clicking_users=cta_clicking_users,
        click_events=cta_clicking_users + 13,
        hovering_users=310,
        hover_events=428,
        click_through_rate=cta_rate,
        click_through_interval=wilson_interval(cta_clicking_users, 1200),
        hover_to_click_rate=cta_clicking_users / 310,
        mean_hover_duration_ms=812.5,
        engagement_score=0.61,
        enough_data=True,
    )
    hostile = ButtonMetrics(
        button=HOSTILE_BUTTON,
        variant="original",
        exposed_users=1100,
        exposure_events=1390,
        clicking_users=22,
        click_events=25,
        hovering_users=140,
        hover_events=190,
        click_through_rate=0.02,
        click_through_interval=Interval(0.0132, 0.0301),
        hover_to_click_rate=22 / 140,
        mean_hover_duration_ms=None,
        engagement_score=0.18,
        enough_data=True,
    )
    buttons = (cta, hostile) if with_hostile_button else (cta,)
    details = (
        Recommendation(
            kind="significant_winner",
            text="✅ cta on colors beats the control: CTR 7.0% vs 5.0%",
            button="cta",
            variant="colors",
            evidence={"relative_lift": 0.4, "adjusted_p_value": 0.012},
        ),
        Recommendation(
            kind="needs_improvement",
            text=f"⚠️ {HOSTILE_BUTTON} on original has the lowest CTR (2.0%)",
            button=HOSTILE_BUTTON,
            variant="original",
            evidence={
                "click_through_rate": 0.02,
                "exposed_users": 1100,
                "button": HOSTILE_BUTTON,
            },
        ),
    )
    return ButtonInsights(
        timestamp=datetime.datetime(2024, 5, 8, 6, 0, tzinfo=datetime.timezone.utc),
        best_performing_button="cta on colors",
        worst_performing_button=(
            f"{HOSTILE_BUTTON} on original" if with_hostile_button else None
        ),
        most_engaging_variant="colors",
        recommendations=tuple(detail.text for detail in details),
        performance_summary={
            "total_buttons_analyzed": len(buttons),
            "average_engagement_score": 0.395,
            "most_clicked_button": "cta",
        },
        property_id=property_id,
        period=period,
        most_engaging_variant_probability=0.83,
        buttons=buttons,
        recommendation_details=details,
        caveats=(f"GA4 withheld rows for {HOSTILE_BUTTON} (thresholding)",),
        schema_name="original_landing_page",
    )
