"""Event schema presets: which GA4 events and parameters mean what.

GA4 has no standard button events. A preset names the events an analysis asks
for, the role each plays, and the custom dimensions that carry the button and
the page variant. Custom parameters are queried as ``customEvent:<name>`` and
must be registered as custom definitions in GA4 first; GA4 collects them only
from the day they are registered.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ga4_button_workflows.models import EventRole, EventRule, EventSchema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "ECOMMERCE_PROMOTIONS",
    "GENERIC_BUTTONS",
    "ORIGINAL_LANDING_PAGE",
    "OUTBOUND_LINKS",
    "PRESETS",
    "get_schema",
    "load_schema",
    "resolve_schema",
]


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

GENERIC_BUTTONS = EventSchema(
    name="generic_buttons",
    rules=(
        EventRule(event_name="button_view", role=EventRole.EXPOSURE),
        EventRule(
            event_name="button_hover", role=EventRole.HOVER, carries_duration=True
        ),
        EventRule(event_name="button_click", role=EventRole.CLICK),
    ),
    button_dimension="customEvent:button_id",
    variant_dimension="customEvent:page_variant",
    duration_metric="customEvent:hover_duration",
    control_variant="control",
)
"""Generic button events: ``button_view``, ``button_hover``, ``button_click``.

Each event carries ``button_id`` (the button), ``page_variant`` and, on
``button_hover``, ``hover_duration`` in ms. ``button_view`` is the button's own
exposure. The control variant is ``control``.
"""

OUTBOUND_LINKS = EventSchema(
    name="outbound_links",
    rules=(EventRule(event_name="click", role=EventRole.CLICK),),
    button_dimension="linkUrl",
    control_variant="default",
)
"""GA4 enhanced measurement's outbound link clicks: the event ``click``.

The link's URL (the standard dimension ``linkUrl``) is the button. There is
no exposure, hover or variant, so the analysis counts clicking users and
click events but computes no click-through rate and ranks nothing.
"""

ECOMMERCE_PROMOTIONS = EventSchema(
    name="ecommerce_promotions",
    rules=(
        EventRule(
            event_name="view_promotion",
            role=EventRole.EXPOSURE,
            count_metric="itemsViewedInPromotion",
        ),
        EventRule(
            event_name="select_promotion",
            role=EventRole.CLICK,
            count_metric="itemsClickedInPromotion",
        ),
    ),
    button_dimension="itemPromotionName",
    variant_dimension="itemPromotionCreativeName",
    control_variant="control",
)
"""GA4 ecommerce promotions: ``view_promotion`` (exposure), ``select_promotion``.

The promotion name is the button and the creative name the variant, both
standard item-scoped dimensions. GA4 refuses ``eventCount`` beside them, so the
events are counted with ``itemsViewedInPromotion`` and
``itemsClickedInPromotion``. Name the creative to compare against with
``AnalysisRequest.control_variant``; ``control`` by default.
"""

PRESETS: dict[str, EventSchema] = {
    schema.name: schema
    for schema in (
        ORIGINAL_LANDING_PAGE,
        GENERIC_BUTTONS,
        OUTBOUND_LINKS,
        ECOMMERCE_PROMOTIONS,
    )
}
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


def resolve_schema(name_or_path: str | os.PathLike[str]) -> EventSchema:
    """Return the preset called ``name_or_path``, or the schema in that file.

    A value ending in ``.toml`` or ``.json`` is a file; anything else a preset.

    Raises:
        ValueError: an unknown preset or an invalid schema file.
        OSError: the file cannot be read.
    """
    text = os.fspath(name_or_path)
    if text.lower().endswith((".toml", ".json")):
        return load_schema(text)
    return get_schema(text)


_SCHEMA_KEYS: Mapping[str, type] = {
    "name": str,
    "rules": list,
    "button_dimension": str,
    "variant_dimension": str,
    "duration_metric": str,
    "default_variant": str,
    "control_variant": str,
}
_RULE_KEYS: Mapping[str, type] = {
    "event_name": str,
    "role": str,
    "button": str,
    "page_level": bool,
    "carries_duration": bool,
    "count_metric": str,
}
_REQUIRED_SCHEMA_KEYS = ("name", "rules")
_REQUIRED_RULE_KEYS = ("event_name", "role")


def load_schema(path: str | os.PathLike[str]) -> EventSchema:
    """Load an event schema from a TOML or JSON file.

    The file holds the :class:`~ga4_button_workflows.models.EventSchema`
    fields at the top level and one ``[[rules]]`` table per event with the
    :class:`~ga4_button_workflows.models.EventRule` fields; ``role`` is one of
    ``exposure``, ``hover``, ``hover_end``, ``click``, ``success``::

        name = "pricing_page"
        button_dimension = "customEvent:plan_id"
        variant_dimension = "customEvent:layout"
        control_variant = "grid"

        [[rules]]
        event_name = "plan_impression"
        role = "exposure"

        [[rules]]
        event_name = "plan_click"
        role = "click"

    Args:
        path: A ``.toml`` or ``.json`` file.

    Raises:
        ValueError: the file is not valid TOML or JSON, or a key is unknown,
            missing or of the wrong type; the message names the file and key.
        OSError: the file cannot be read.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ValueError(
            f"{file}: an event schema file must end in .toml or .json, "
            f"not {suffix or 'nothing'!r}"
        )
    text = file.read_text(encoding="utf-8")
    try:
        document = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not valid {suffix[1:].upper()}: {error}") from None
    return _schema_from(document, where=str(file))


def _schema_from(document: Any, *, where: str) -> EventSchema:
    table = _checked_table(document, _SCHEMA_KEYS, _REQUIRED_SCHEMA_KEYS, where)
    rules = table.pop("rules")
    if not rules:
        raise ValueError(f"{where}: 'rules' is empty; name at least one event")
    parsed = tuple(
        _rule_from(rule, where=f"{where}: rules[{index}]")
        for index, rule in enumerate(rules)
    )
    names = [rule.event_name for rule in parsed]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"{where}: the event {repeated[0]!r} has more than one rule; give each "
            "event name one rule"
        )
    return EventSchema(rules=parsed, **table)


def _rule_from(document: Any, *, where: str) -> EventRule:
    table = _checked_table(document, _RULE_KEYS, _REQUIRED_RULE_KEYS, where)
    role = table.pop("role")
    try:
        table["role"] = EventRole(role)
    except ValueError:
        roles = ", ".join(repr(member.value) for member in EventRole)
        raise ValueError(f"{where}: role {role!r} is not one of {roles}") from None
    return EventRule(**table)


def _checked_table(
    document: Any,
    keys: Mapping[str, type],
    required: tuple[str, ...],
    where: str,
) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValueError(  # noqa: TRY004 - callers treat every bad file as ValueError
            f"{where}: expected a table of keys, not {type(document).__name__}"
        )
    known = ", ".join(keys)
    for key, value in document.items():
        expected = keys.get(key)
        if expected is None:
            raise ValueError(f"{where}: unknown key {key!r}; the keys are: {known}")
        if not isinstance(value, expected):
            raise ValueError(  # noqa: TRY004 - as above
                f"{where}: {key!r} must be a {_type_name(expected)}, not "
                f"{type(value).__name__} {value!r}"
            )
    for key in required:
        if key not in document:
            raise ValueError(f"{where}: the key {key!r} is missing")
    return dict(document)


def _type_name(expected: type) -> str:
    return {str: "string", bool: "boolean", list: "list of tables"}.get(
        expected, expected.__name__
    )
