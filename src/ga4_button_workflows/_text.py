"""How numbers read in sentences and tables: one spelling across every output.

Pure: the insights, the renderers, alerts, notifiers and the dashboard all
format rates, changes and p-values with these, so a number reads the same in
Slack as on the dashboard.
"""

from __future__ import annotations

import math

__all__ = ["MISSING", "p_phrase", "p_value", "percent", "signed_percent"]

MISSING = "-"
"""What stands for a number that cannot be computed."""


def percent(rate: float | None) -> str:
    """A rate as a percentage, with more digits below 1%; ``-`` for None."""
    if rate is None or not math.isfinite(rate):
        return MISSING
    value = rate * 100.0
    if value == 0.0:
        return "0%"
    return f"{value:.2f}%" if abs(value) < 1.0 else f"{value:.1f}%"


def signed_percent(value: float | None) -> str:
    """A relative change as a signed percentage, e.g. ``+45%``; ``-`` for None."""
    if value is None or not math.isfinite(value):
        return MISSING
    scaled = value * 100.0
    # Decide the digits on the rounded value: -9.96 reads -10%, not -10.0%.
    return f"{scaled:+.1f}%" if round(abs(scaled), 1) < 10.0 else f"{scaled:+.0f}%"


def p_value(value: float | None) -> str:
    """A p-value for a table cell: ``< 0.001`` or three significant digits."""
    if value is None or not math.isfinite(value):
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def p_phrase(value: float | None) -> str:
    """A p-value for a sentence after ``p``: ``< 0.001`` or ``= 0.0123``."""
    if value is None or not math.isfinite(value):
        return "not computable"
    return "< 0.001" if value < 0.001 else f"= {value:.3g}"
