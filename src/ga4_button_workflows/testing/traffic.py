"""Seeded synthetic traffic for the original landing page.

The generator simulates visitors to the five page variants and the events the
page sends (``page_view``, hover start and end, clicks, successes), with
planted differences between variants. It feeds the demo, the tests and the
GA4 emulator, and is deterministic for a given seed.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator, Mapping

import attrs

__all__ = [
    "LANDING_PAGE_VARIANTS",
    "ButtonBehaviour",
    "TrafficEvent",
    "generate_landing_page_traffic",
]

LANDING_PAGE_VARIANTS = ("original", "colors", "sizes", "spacing", "typography")
"""The original landing page's variants; ``original`` is the control."""


@attrs.frozen(kw_only=True)
class TrafficEvent:
    """One GA4 event as the page would send it."""

    date: datetime.date
    """The day, in the property's time zone."""
    user_id: str
    """A pseudonymous user (GA4's client ID)."""
    event_name: str
    """The GA4 event name."""
    params: tuple[tuple[str, str | int | float], ...] = ()
    """Event parameters as name-value pairs."""

    def param(self, name: str) -> str | int | float | None:
        """Return the parameter ``name``, or None when absent."""
        for key, value in self.params:
            if key == name:
                return value
        return None


@attrs.frozen(kw_only=True)
class ButtonBehaviour:
    """How visitors treat one button on one variant."""

    hover_rate: float
    """Share of visits with a hover."""
    click_rate_after_hover: float
    """Share of hovering visits that click."""
    mean_hover_ms: float
    """Mean hover duration in ms."""
    success_rate: float = 0.8
    """Share of clicks followed by a success event."""


_Params = tuple[tuple[str, str | int | float], ...]

_FAMILIES: dict[str, tuple[str, str, str, str, _Params]] = {
    # button: (hover start, hover end, click, success, extra params)
    "cta": (
        "button_hover_start",
        "button_hover_end",
        "cta_click",
        "button_interaction_success",
        (("button_type", "cta"),),
    ),
    "navigation": (
        "nav_hover_start",
        "nav_hover_end",
        "navigation_click",
        "navigation_success",
        (("nav_item", "pricing"), ("nav_text", "Pricing")),
    ),
    "feature_card": (
        "feature_hover_start",
        "feature_hover_end",
        "feature_click",
        "feature_interaction_success",
        (("feature_type", "card"),),
    ),
}

_CTA_CLICK_AFTER_HOVER = {
    "original": 0.20,
    "colors": 0.28,
    "sizes": 0.23,
    "spacing": 0.19,
    "typography": 0.21,
}

DEFAULT_BEHAVIOUR: Mapping[str, Mapping[str, ButtonBehaviour]] = {
    variant: {
        "cta": ButtonBehaviour(
            hover_rate=0.45,
            click_rate_after_hover=_CTA_CLICK_AFTER_HOVER[variant],
            mean_hover_ms=1200.0,
        ),
        "navigation": ButtonBehaviour(
            hover_rate=0.35, click_rate_after_hover=0.30, mean_hover_ms=600.0
        ),
        "feature_card": ButtonBehaviour(
            hover_rate=0.25,
            click_rate_after_hover=0.12,
            mean_hover_ms=2600.0,
            success_rate=0.6,
        ),
    }
    for variant in LANDING_PAGE_VARIANTS
}
"""The planted behaviour: ``colors`` lifts the CTA's click rate by about a third;
feature cards are hovered long and clicked rarely."""


def generate_landing_page_traffic(
    *,
    start: datetime.date,
    days: int = 14,
    visitors_per_variant_per_day: int = 300,
    seed: int = 20240601,
    behaviour: Mapping[str, Mapping[str, ButtonBehaviour]] | None = None,
) -> Iterator[TrafficEvent]:
    """Yield the events of ``days`` days of traffic, day by day.

    About a quarter of visitors come back on a later day, so daily user counts
    do not add up to the period's users, as in GA4.

    Args:
        start: The first day.
        days: How many days.
        visitors_per_variant_per_day: New visitors each variant receives daily.
        seed: The random seed; the same seed yields the same events.
        behaviour: Per variant and button, how visitors behave.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    rng = random.Random(seed)  # noqa: S311 - synthetic traffic, not secrets
    plan = behaviour or DEFAULT_BEHAVIOUR
    returning: dict[str, list[str]] = {variant: [] for variant in plan}
    for day_index in range(days):
        date = start + datetime.timedelta(days=day_index)
        for variant, buttons in plan.items():
            visitors = [
                f"{variant}.{day_index}.{n}"
                for n in range(visitors_per_variant_per_day)
            ]
            pool = returning[variant]
            comeback = rng.sample(pool, k=min(len(pool), len(visitors) // 4))
            for user_id in visitors + comeback:
                yield from _visit(rng, date, user_id, variant, buttons)
            pool.extend(rng.sample(visitors, k=len(visitors) // 3))


def _visit(
    rng: random.Random,
    date: datetime.date,
    user_id: str,
    variant: str,
    buttons: Mapping[str, ButtonBehaviour],
) -> Iterator[TrafficEvent]:
    variant_param: _Params = (("page_variant", variant),)
    yield TrafficEvent(
        date=date, user_id=user_id, event_name="page_view", params=variant_param
    )
    for button, habit in buttons.items():
        if rng.random() >= habit.hover_rate:
            continue
        hover_start, hover_end, click, success, extra = _FAMILIES[button]
        params: _Params = variant_param + extra
        duration = max(50, round(rng.expovariate(1.0 / habit.mean_hover_ms)))
        yield TrafficEvent(
            date=date, user_id=user_id, event_name=hover_start, params=params
        )
        if rng.random() < habit.click_rate_after_hover:
            timed = (*params, ("hover_duration", duration))
            yield TrafficEvent(
                date=date, user_id=user_id, event_name=click, params=timed
            )
            if rng.random() < habit.success_rate:
                yield TrafficEvent(
                    date=date, user_id=user_id, event_name=success, params=params
                )
        else:
            timed = (*params, ("hover_duration", duration))
            yield TrafficEvent(
                date=date, user_id=user_id, event_name=hover_end, params=timed
            )
