"""attrs validators shared by the configuration classes; messages name the field."""

from __future__ import annotations

import math

import attrs

__all__ = [
    "count",
    "finite",
    "flag",
    "non_negative_finite",
    "open_unit",
    "positive",
    "positive_finite",
]


def _whole(attribute: attrs.Attribute[int], value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{attribute.name} must be a whole number, got "
            f"{type(value).__name__} {value!r}"
        )
    return value


def _number(attribute: attrs.Attribute[float], value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{attribute.name} must be a number, got {type(value).__name__} {value!r}"
        )
    try:
        return float(value)
    except OverflowError:  # a whole number past the float range
        return math.inf if value > 0 else -math.inf


def count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if _whole(attribute, value) < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


def finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(_number(attribute, value)):
        raise ValueError(f"{attribute.name} must be a finite number, got {value!r}")


def non_negative_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    number = _number(attribute, value)
    if not (math.isfinite(number) and number >= 0.0):
        raise ValueError(
            f"{attribute.name} must be a finite, non-negative number, got {value!r}"
        )


def open_unit(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    if not 0.0 < _number(attribute, value) < 1.0:
        raise ValueError(
            f"{attribute.name} must be strictly between 0 and 1, got {value!r}"
        )


def positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if _whole(attribute, value) < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value!r}")


def positive_finite(
    instance: object, attribute: attrs.Attribute[float], value: float
) -> None:
    number = _number(attribute, value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(
            f"{attribute.name} must be a finite number above 0, got {value!r}"
        )


def flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{attribute.name} must be True or False, got "
            f"{type(value).__name__} {value!r}"
        )
