"""Insight stores: where analyses are kept.

:class:`SQLInsightStore` needs SQLAlchemy (``pip install
'ga4-button-workflows[sql]'``); it is imported on first use, so the other
stores work without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ga4_button_workflows.ports import InsightStore
from ga4_button_workflows.stores.json_file import JSONFileInsightStore
from ga4_button_workflows.stores.memory import MemoryInsightStore

if TYPE_CHECKING:
    from ga4_button_workflows.stores.sql import ButtonHistoryPoint, SQLInsightStore

__all__ = [
    "ButtonHistoryPoint",
    "JSONFileInsightStore",
    "MemoryInsightStore",
    "SQLInsightStore",
    "open_store",
]

_LAZY = {"ButtonHistoryPoint", "SQLInsightStore"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        sql = importlib.import_module(f"{__name__}.sql")
        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url: str) -> InsightStore:
    """Return the store a URL names, as the command line and config files do.

    * ``sqlite:///path.db``, ``postgresql://user@host/db`` (any SQLAlchemy URL
      of those two databases): :class:`SQLInsightStore`;
    * ``json:path`` or a path ending in ``.json``: :class:`JSONFileInsightStore`;
    * ``memory:``: :class:`MemoryInsightStore` (gone when the process ends).

    Raises:
        ValueError: the URL names no store; the message lists the forms.
    """
    value = url.strip()
    if value.startswith(("sqlite", "postgresql", "postgres")):
        sql = importlib.import_module(f"{__name__}.sql")
        store: InsightStore = sql.SQLInsightStore(value)
        return store
    if value.startswith("json:"):
        return JSONFileInsightStore(value.removeprefix("json:"))
    if value.lower().endswith(".json"):
        return JSONFileInsightStore(value)
    if value in ("memory", "memory:", "memory://"):
        return MemoryInsightStore()
    raise ValueError(
        f"{url!r} names no insight store; use sqlite:///button_insights.db, "
        "postgresql://user:password@host/database, json:button_insights.json "
        "or memory:"
    )
