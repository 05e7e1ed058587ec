"""The GA4 dimensions and metrics the emulator knows, with their metadata."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = [
    "CUSTOM_PREFIX",
    "METRIC_TYPES",
    "STANDARD_DIMENSIONS",
    "STANDARD_METRICS",
    "DimensionInfo",
    "MetricInfo",
    "standard_metric_type",
]

CUSTOM_PREFIX = "customEvent:"
"""The API-name prefix of event-scoped custom dimensions and metrics."""

METRIC_TYPES: Mapping[str, int] = {
    "TYPE_INTEGER": 1,
    "TYPE_FLOAT": 2,
    "TYPE_SECONDS": 4,
    "TYPE_MILLISECONDS": 5,
    "TYPE_MINUTES": 6,
    "TYPE_HOURS": 7,
    "TYPE_STANDARD": 8,
    "TYPE_CURRENCY": 9,
    "TYPE_FEET": 10,
    "TYPE_MILES": 11,
    "TYPE_METERS": 12,
    "TYPE_KILOMETERS": 13,
}
"""google.analytics.data.v1beta.MetricType: name to enum number."""


@attrs.frozen
class DimensionInfo:
    """What getMetadata says about a dimension."""

    ui_name: str
    description: str
    category: str


@attrs.frozen
class MetricInfo:
    """What getMetadata says about a metric."""

    ui_name: str
    description: str
    category: str
    type: str


STANDARD_DIMENSIONS: Mapping[str, DimensionInfo] = {
    "date": DimensionInfo(
        "Date", "The date of the event, formatted as YYYYMMDD.", "Time"
    ),
    "dateRange": DimensionInfo(
        "Date range",
        "The name of the date range; added when a request has several date ranges.",
        "General",
    ),
    "eventName": DimensionInfo("Event name", "The name of the event.", "Event"),
    "itemPromotionCreativeName": DimensionInfo(
        "Item promotion creative name",
        "The name of the item-promotion creative (event parameter creative_name).",
        "Ecommerce",
    ),
    "itemPromotionCreativeSlot": DimensionInfo(
        "Item promotion creative slot",
        "The slot of the promotion creative (event parameter creative_slot).",
        "Ecommerce",
    ),
    "itemPromotionId": DimensionInfo(
        "Item promotion ID",
        "The ID of the item promotion (event parameter promotion_id).",
        "Ecommerce",
    ),
    "itemPromotionName": DimensionInfo(
        "Item promotion name",
        "The name of the promotion for the item (event parameter promotion_name).",
        "Ecommerce",
    ),
    "linkUrl": DimensionInfo(
        "Link URL",
        "The full URL for outbound links or file downloads (event parameter link_url).",
        "Link",
    ),
    "pageLocation": DimensionInfo(
        "Page location",
        "The full URL of the page (event parameter page_location).",
        "Page / screen",
    ),
    "pagePath": DimensionInfo(
        "Page path",
        "The portion of the URL between the host and the query string.",
        "Page / screen",
    ),
}
"""Standard dimensions the emulator can compute from events."""

STANDARD_METRICS: Mapping[str, MetricInfo] = {
    "activeUsers": MetricInfo(
        "Active users", "The number of distinct users.", "User", "TYPE_INTEGER"
    ),
    "eventCount": MetricInfo(
        "Event count", "The count of events.", "Event", "TYPE_INTEGER"
    ),
    "eventCountPerUser": MetricInfo(
        "Event count per active user",
        "The average number of events per user (event count / active users).",
        "Event",
        "TYPE_FLOAT",
    ),
    "itemsClickedInPromotion": MetricInfo(
        "Items clicked in promotion",
        "The number of select_promotion events.",
        "Ecommerce",
        "TYPE_INTEGER",
    ),
    "itemsViewedInPromotion": MetricInfo(
        "Items viewed in promotion",
        "The number of view_promotion events.",
        "Ecommerce",
        "TYPE_INTEGER",
    ),
    "totalUsers": MetricInfo(
        "Total users",
        "The number of distinct users who logged at least one event.",
        "User",
        "TYPE_INTEGER",
    ),
}
"""Standard metrics the emulator can compute from events."""


def standard_metric_type(name: str) -> str:
    """The metric type of a standard metric; ``TYPE_INTEGER`` for any other name."""
    info = STANDARD_METRICS.get(name)
    return info.type if info is not None else "TYPE_INTEGER"
