"""attrs validators shared by the configuration classes; messages name the field."""

from __future__ import annotations

import math

import attrs

__all__ = [
    "count",
    "non_negative_finite",
    "open_unit",
    "positive",
    "positive_finite",
]


def count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


def non_negative_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(
            f"{attribute.name} must be a finite, non-negative number, got {value!r}"
        )


def open_unit(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"{attribute.name} must be strictly between 0 and 1, got {value!r}"
        )


def positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


def positive_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(
            f"{attribute.name} must be a finite number above 0, got {value!r}"
        )
