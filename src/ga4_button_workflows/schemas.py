"""Event schema presets: which GA4 events and parameters mean what.

GA4 has no standard button events. A preset names the events an analysis asks
for, the role each plays, and the custom dimensions that carry the button and
the page variant. Custom parameters are queried as ``customEvent:<name>`` and
must be registered as custom definitions in GA4 first; GA4 collects them only
from the day they are registered.
"""

from __future__ import annotations

from ga4_button_workflows.models import EventRole, EventRule, EventSchema

__all__ = ["ORIGINAL_LANDING_PAGE", "PRESETS", "get_schema"]


def _family(
    button: str, hover_start: str, hover_end: str, click: str, success: str
) -> tuple[EventRule, ...]:
    return (
        EventRule(event_name=hover_start, role=EventRole.HOVER, button=button),
        EventRule(
            event_name=hover_end,
            role=EventRole.HOVER_END,
            button=button,
            carries_duration=True,
        ),
        EventRule(
            event_name=click, role=EventRole.CLICK, button=button, carries_duration=True
        ),
        EventRule(event_name=success, role=EventRole.SUCCESS, button=button),
    )


ORIGINAL_LANDING_PAGE = EventSchema(
    name="original_landing_page",
    rules=(
        EventRule(event_name="page_view", role=EventRole.EXPOSURE, page_level=True),
        *_family(
            "cta",
            "button_hover_start",
            "button_hover_end",
            "cta_click",
            "button_interaction_success",
        ),
        *_family(
            "navigation",
            "nav_hover_start",
            "nav_hover_end",
            "navigation_click",
            "navigation_success",
        ),
        *_family(
            "feature_card",
            "feature_hover_start",
            "feature_hover_end",
            "feature_click",
            "feature_interaction_success",
        ),
    ),
    button_dimension="customEvent:button_type",
    variant_dimension="customEvent:page_variant",
    duration_metric="customEvent:hover_duration",
    control_variant="original",
)
"""The original landing page: five variants sent as ``page_variant``.

Exposure is ``page_view`` per variant. The CTA sends ``button_type=cta``;
navigation and feature-card events carry no ``button_type``, so their event
family names the button (``navigation``, ``feature_card``). Durations arrive on
``*_hover_end`` and ``*_click`` events only.
"""

PRESETS: dict[str, EventSchema] = {ORIGINAL_LANDING_PAGE.name: ORIGINAL_LANDING_PAGE}
"""Every preset by name."""


def get_schema(name: str) -> EventSchema:
    """Return the preset called ``name``.

    Raises:
        ValueError: no preset has that name; the message lists the presets.
    """
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(
            f"unknown event schema {name!r}; the presets are: {known}"
        ) from None
