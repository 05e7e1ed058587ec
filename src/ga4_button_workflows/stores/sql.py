"""An insight store on SQLAlchemy 2: SQLite by default, PostgreSQL by URL.

Six tables:

``schema_version``
    One row per schema version applied, with the time it was applied.
``analyses``
    One row per analysis: property, period, workflow and run IDs, save times
    and the insights document as JSON text.
``button_metrics``
    One row per button x variant of each analysis, for history queries.
``deliveries``
    One row per analysis and notification channel that was reached.
``daily_metrics``
    One row per property, day, button and variant: the history behind trends.
    A restated day replaces its row.
``alerts``
    One row per property and change-alert key: the relative change last
    alerted, the days its comparison spanned and the analysis that alerted it.

Tables are created on first use and upgraded in place when a newer version of
the library changes them. To change the schema: edit the table definitions
below, raise :data:`SCHEMA_VERSION`, and add an upgrade step to ``_UPGRADES``
that takes a database from the previous version to the new one (for example
``ALTER TABLE analyses ADD COLUMN ...``). A new database is created from the
table definitions and stamped with :data:`SCHEMA_VERSION` directly.

SQLAlchemy is optional: install ``ga4-button-workflows[sql]`` for SQLite and
``ga4-button-workflows[postgres]`` for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql as pg_dialect
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.engine import Connection, Engine, make_url
    from sqlalchemy.pool import StaticPool
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "SQLInsightStore needs SQLAlchemy 2; install it with "
        "pip install 'ga4-button-workflows[sql]' (SQLite) or "
        "pip install 'ga4-button-workflows[postgres]' (PostgreSQL)"
    ) from error

from ga4_button_workflows.converter import make_cattrs_converter
from ga4_button_workflows.models import (
    AnalysisRecord,
    ButtonInsights,
    DailyCounts,
    Period,
    SentAlert,
)
from ga4_button_workflows.stores._sent import checked_sent_alert

__all__ = ["DEFAULT_URL", "SCHEMA_VERSION", "ButtonHistoryPoint", "SQLInsightStore"]

DEFAULT_URL = "sqlite:///button_insights.db"
"""Where :class:`SQLInsightStore` keeps its data unless told otherwise."""

SCHEMA_VERSION = 4
"""The schema version this version of the library writes.

Version 2 added the ``daily_metrics`` and ``alerts`` tables, version 3 made
counts 64-bit on PostgreSQL, version 4 added the rate before an alerted change
and the days of its comparison (``alerts.previous_rate``, ``span_start`` and
``span_end``).
"""

_SUPPORTED_DIALECTS = ("sqlite", "postgresql")
_POSTGRES_LOCK_KEY = 0x6761_3462_7574
"""Advisory lock that serialises schema creation between workers (``ga4but``)."""

metadata = sa.MetaData()

schema_version_table = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

analyses_table = sa.Table(
    "analyses",
    metadata,
    sa.Column("analysis_id", sa.String, primary_key=True),
    sa.Column("property_id", sa.String, nullable=False),
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("period_end", sa.Date, nullable=True),
    sa.Column("workflow_id", sa.String, nullable=False),
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_saved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("save_count", sa.Integer, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_analyses_property_saved", "property_id", "saved_at"),
)

button_metrics_table = sa.Table(
    "button_metrics",
    metadata,
    sa.Column(
        "analysis_id",
        sa.String,
        sa.ForeignKey("analyses.analysis_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("button", sa.String, primary_key=True),
    sa.Column("variant", sa.String, primary_key=True),
    sa.Column("property_id", sa.String, nullable=False),
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("period_end", sa.Date, nullable=True),
    sa.Column("exposed_users", sa.BigInteger, nullable=True),
    sa.Column("exposure_events", sa.BigInteger, nullable=False),
    sa.Column("clicking_users", sa.BigInteger, nullable=False),
    sa.Column("click_events", sa.BigInteger, nullable=False),
    sa.Column("hovering_users", sa.BigInteger, nullable=False),
    sa.Column("hover_events", sa.BigInteger, nullable=False),
    sa.Column("click_through_rate", sa.Float, nullable=True),
    sa.Column("click_through_rate_lower", sa.Float, nullable=True),
    sa.Column("click_through_rate_upper", sa.Float, nullable=True),
    sa.Column("hover_to_click_rate", sa.Float, nullable=True),
    sa.Column("mean_hover_duration_ms", sa.Float, nullable=True),
    sa.Column("engagement_score", sa.Float, nullable=False),
    sa.Column("enough_data", sa.Boolean, nullable=False),
    sa.Index(
        "ix_button_metrics_history", "property_id", "button", "variant", "period_end"
    ),
)

deliveries_table = sa.Table(
    "deliveries",
    metadata,
    # No foreign key: the notification branch runs beside the save and may
    # record its delivery before the analysis row exists.
    sa.Column("analysis_id", sa.String, primary_key=True),
    sa.Column("channel", sa.String, primary_key=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
)

daily_metrics_table = sa.Table(
    "daily_metrics",
    metadata,
    sa.Column("property_id", sa.String, primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("button", sa.String, primary_key=True),
    sa.Column("variant", sa.String, primary_key=True),
    sa.Column("exposed_users", sa.BigInteger, nullable=True),
    sa.Column("exposure_events", sa.BigInteger, nullable=False),
    sa.Column("clicking_users", sa.BigInteger, nullable=False),
    sa.Column("click_events", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("property_id", sa.String, primary_key=True),
    sa.Column("alert_key", sa.String, primary_key=True),
    sa.Column("relative_change", sa.Float, nullable=False),
    sa.Column("analysis_id", sa.String, nullable=False),
    # NULL in alerts recorded before version 4: their rate before the change
    # and their days are unknown.
    sa.Column("previous_rate", sa.Float, nullable=True),
    sa.Column("span_start", sa.Date, nullable=True),
    sa.Column("span_end", sa.Date, nullable=True),
    sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=False),
)


def _add_trend_tables(connection: Connection) -> None:
    daily_metrics_table.create(connection, checkfirst=True)
    alerts_table.create(connection, checkfirst=True)


_COUNT_COLUMNS = {
    "button_metrics": (
        "exposed_users",
        "exposure_events",
        "clicking_users",
        "click_events",
        "hovering_users",
        "hover_events",
    ),
    "daily_metrics": (
        "exposed_users",
        "exposure_events",
        "clicking_users",
        "click_events",
    ),
}


def _widen_counts(connection: Connection) -> None:
    # GA4 counts are 64-bit: a large property passes 2**31 events in months.
    # SQLite's integers are 64-bit already; PostgreSQL's INTEGER is not.
    if connection.dialect.name != "postgresql":
        return
    for table, columns in _COUNT_COLUMNS.items():
        for column in columns:
            connection.execute(
                sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT")
            )


def _add_alert_spans(connection: Connection) -> None:
    # A database upgraded from version 1 got the alerts table, these columns
    # included, from the definitions above in step 2.
    present = {
        column["name"] for column in sa.inspect(connection).get_columns("alerts")
    }
    for column, kind in (
        ("previous_rate", "DOUBLE PRECISION"),
        ("span_start", "DATE"),
        ("span_end", "DATE"),
    ):
        if column not in present:
            connection.execute(
                sa.text(f"ALTER TABLE alerts ADD COLUMN {column} {kind}")
            )


_UPGRADES: dict[int, Callable[[Connection], None]] = {
    2: _add_trend_tables,
    3: _widen_counts,
    4: _add_alert_spans,
}
"""``_UPGRADES[n]`` takes an existing database from version ``n - 1`` to ``n``."""


@attrs.frozen(kw_only=True)
class ButtonHistoryPoint:
    """One button x variant's metrics in one saved analysis."""

    analysis_id: str
    """The analysis the metrics come from."""
    property_id: str
    """The numeric GA4 property ID."""
    button: str
    """The button."""
    variant: str
    """The page variant."""
    period: Period | None
    """The days the analysis covered."""
    saved_at: datetime.datetime
    """When the analysis was last saved (UTC)."""
    exposed_users: int | None
    """Users exposed; None when the schema has no exposure event."""
    clicking_users: int
    """Users who clicked."""
    click_events: int
    """Click events."""
    hovering_users: int
    """Users who hovered."""
    click_through_rate: float | None
    """Users who clicked / users exposed."""
    click_through_rate_lower: float | None
    """Lower end of the 95% interval of the click-through rate."""
    click_through_rate_upper: float | None
    """Upper end of the 95% interval of the click-through rate."""
    mean_hover_duration_ms: float | None
    """Mean hover duration, in ms."""
    engagement_score: float
    """Bounded engagement score in [0, 1]."""
    enough_data: bool
    """True when the numbers passed the data gates for ranking."""


class SQLInsightStore:
    """Keeps analyses, metrics, deliveries, daily rows and alerts in SQL.

    SQLite and PostgreSQL are supported.

    The engine is created on first use, and the tables are created or
    upgraded then. Every write is an upsert keyed by the analysis ID inside one
    transaction, so a retried save leaves one analysis row and one set of
    metric rows. Blocking database calls run in worker threads.

    Args:
        url: A SQLAlchemy URL. ``sqlite:///path.db`` for a SQLite file,
            ``postgresql://user:password@host/db`` for PostgreSQL (the
            psycopg 3 driver is used when the URL names none).
        engine_options: Extra keyword arguments for
            :func:`sqlalchemy.create_engine`; they override the defaults
            (``pool_pre_ping=True``, a 10 s connect timeout on PostgreSQL).

    Raises:
        ValueError: The URL names a database other than SQLite or PostgreSQL.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() not in _SUPPORTED_DIALECTS:
            raise ValueError(
                f"SQLInsightStore supports SQLite and PostgreSQL, not "
                f"{parsed.get_backend_name()!r} "
                f"({parsed.render_as_string(hide_password=True)})"
            )
        self._url = parsed
        self._engine_options = dict(engine_options or {})
        self._engine: Engine | None = None
        self._schema_ready = False
        self._lock = threading.Lock()
        self._converter = make_cattrs_converter()

    def __repr__(self) -> str:
        return f"SQLInsightStore({self.url!r})"

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._url.render_as_string(hide_password=True)

    async def save_analysis(self, record: AnalysisRecord) -> bool:
        """Insert or replace the analysis and its metric rows in one transaction.

        Returns:
            True when the analysis was new, False when it replaced an earlier
            save of the same analysis ID.
        """
        return await asyncio.to_thread(self._save_analysis, record)

    async def get_analysis(self, analysis_id: str) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        query = sa.select(analyses_table).where(
            analyses_table.c.analysis_id == analysis_id
        )
        return await asyncio.to_thread(self._fetch_record, query)

    async def latest_analysis(
        self, property_id: str | None = None
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        query = sa.select(analyses_table).order_by(
            analyses_table.c.saved_at.desc(), analyses_table.c.analysis_id.desc()
        )
        if property_id is not None:
            query = query.where(analyses_table.c.property_id == property_id)
        return await asyncio.to_thread(self._fetch_record, query.limit(1))

    async def analysis_for_period(
        self, property_id: str, period: Period
    ) -> AnalysisRecord | None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        query = (
            sa.select(analyses_table)
            .where(
                analyses_table.c.property_id == property_id,
                analyses_table.c.period_start == period.start,
                analyses_table.c.period_end == period.end,
            )
            .order_by(
                analyses_table.c.saved_at.desc(), analyses_table.c.analysis_id.desc()
            )
            .limit(1)
        )
        return await asyncio.to_thread(self._fetch_record, query)

    async def has_delivery(self, analysis_id: str, channel: str) -> bool:
        """See :class:`~ga4_button_workflows.ports.InsightStore`."""
        query = sa.select(sa.literal(1)).where(
            deliveries_table.c.analysis_id == analysis_id,
            deliveries_table.c.channel == channel,
        )
        found = await asyncio.to_thread(self._scalar, query)
        return found is not None

    async def record_delivery(self, analysis_id: str, channel: str) -> None:
        """Record the delivery; recording it again keeps the first time."""
        await asyncio.to_thread(self._record_delivery, analysis_id, channel)

    async def button_history(
        self,
        property_id: str,
        button: str,
        variant: str | None = None,
        *,
        limit: int = 100,
    ) -> list[ButtonHistoryPoint]:
        """Return a button's metrics over the saved analyses of a property.

        Args:
            property_id: The numeric GA4 property ID.
            button: The button, as the analyses name it.
            variant: Only this page variant; every variant when None.
            limit: At most this many points, the most recent ones.

        Returns:
            The points ordered by period (then save time), oldest first.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        metrics, analyses = button_metrics_table.c, analyses_table.c
        query = (
            sa.select(button_metrics_table, analyses.saved_at)
            .join(analyses_table, analyses.analysis_id == metrics.analysis_id)
            .where(
                metrics.property_id == property_id,
                metrics.button == _storable(button),
            )
            .order_by(
                metrics.period_end.desc().nulls_last(),
                analyses.saved_at.desc(),
                metrics.variant,
            )
            .limit(limit)
        )
        if variant is not None:
            query = query.where(metrics.variant == _storable(variant))
        rows = await asyncio.to_thread(self._fetch_all, query)
        return [_history_point(row) for row in reversed(rows)]

    async def save_daily(self, property_id: str, rows: Sequence[DailyCounts]) -> None:
        """Upsert the rows in one transaction; a restated day replaces its row.

        See :class:`~ga4_button_workflows.ports.TrendStore`.
        """
        if rows:
            await asyncio.to_thread(self._save_daily, property_id, list(rows))

    async def daily_history(
        self, property_id: str, *, start: datetime.date, end: datetime.date
    ) -> list[DailyCounts]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        daily = daily_metrics_table.c
        query = (
            sa.select(daily_metrics_table)
            .where(
                daily.property_id == property_id,
                daily.date >= start,
                daily.date <= end,
            )
            .order_by(daily.date, daily.button, daily.variant)
        )
        rows = await asyncio.to_thread(self._fetch_all, query)
        return [_daily_counts(row) for row in rows]

    async def sent_alerts(self, property_id: str) -> dict[str, SentAlert]:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        alerts = alerts_table.c
        query = sa.select(
            alerts.alert_key,
            alerts.relative_change,
            alerts.analysis_id,
            alerts.previous_rate,
            alerts.span_start,
            alerts.span_end,
        ).where(alerts.property_id == property_id)
        rows = await asyncio.to_thread(self._fetch_all, query)
        sent = {}
        for row in rows:
            previous_rate = row["previous_rate"]
            try:
                sent[row["alert_key"]] = SentAlert(
                    relative_change=float(row["relative_change"]),
                    analysis_id=row["analysis_id"],
                    previous_rate=None
                    if previous_rate is None
                    else float(previous_rate),
                    span=_period(row["span_start"], row["span_end"]),
                )
            except ValueError:  # a damaged row is left out: it never silences
                continue
        return sent

    async def record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        """See :class:`~ga4_button_workflows.ports.TrendStore`."""
        checked = checked_sent_alert(sent)
        await asyncio.to_thread(self._record_alert, property_id, key, checked)

    async def schema_version(self) -> int:
        """Return the schema version recorded in the database."""
        query = sa.select(sa.func.max(schema_version_table.c.version))
        version = await asyncio.to_thread(self._scalar, query)
        return int(version)

    async def close(self) -> None:
        """Close every pooled connection; the next call opens new ones."""
        await asyncio.to_thread(self._dispose)

    async def __aenter__(self) -> SQLInsightStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- Blocking work, run in worker threads ---------------------------------

    def _save_analysis(self, record: AnalysisRecord) -> bool:
        document = json.dumps(
            self._converter.unstructure(record.insights),
            separators=(",", ":"),
            allow_nan=False,
        )
        saved_at = _as_utc(record.saved_at)
        period = record.period
        analysis_row = {
            "analysis_id": record.analysis_id,
            "property_id": record.property_id,
            "period_start": period.start if period else None,
            "period_end": period.end if period else None,
            "workflow_id": record.workflow_id,
            "run_id": record.run_id,
            "saved_at": saved_at,
            "first_saved_at": saved_at,
            "save_count": 1,
            "document": document,
        }
        metric_rows = _metric_rows(record)

        engine = self._ready_engine()
        with _write_transaction(engine) as connection:
            insert = _insert(engine, analyses_table).values(analysis_row)
            excluded = insert.excluded
            replaced: dict[str, Any] = {
                name: excluded[name]
                for name in analysis_row
                if name not in ("analysis_id", "first_saved_at", "save_count")
            }
            replaced["save_count"] = analyses_table.c.save_count + 1
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[analyses_table.c.analysis_id], set_=replaced
                )
            )
            connection.execute(
                sa.delete(button_metrics_table).where(
                    button_metrics_table.c.analysis_id == record.analysis_id
                )
            )
            if metric_rows:
                connection.execute(sa.insert(button_metrics_table), metric_rows)
            # The row is locked by this transaction, so the count is exact.
            save_count = connection.scalar(
                sa.select(analyses_table.c.save_count).where(
                    analyses_table.c.analysis_id == record.analysis_id
                )
            )
        return bool(save_count == 1)

    def _record_delivery(self, analysis_id: str, channel: str) -> None:
        engine = self._ready_engine()
        insert = _insert(engine, deliveries_table).values(
            analysis_id=analysis_id,
            channel=channel,
            delivered_at=datetime.datetime.now(datetime.timezone.utc),
        )
        with _write_transaction(engine) as connection:
            connection.execute(insert.on_conflict_do_nothing())

    def _save_daily(self, property_id: str, rows: list[DailyCounts]) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        # One row per key: PostgreSQL refuses to update a row twice in a statement.
        fresh = {
            (row.date, _storable(row.button), _storable(row.variant)): {
                "property_id": property_id,
                "date": row.date,
                "button": _storable(row.button),
                "variant": _storable(row.variant),
                "exposed_users": row.exposed_users,
                "exposure_events": row.exposure_events,
                "clicking_users": row.clicking_users,
                "click_events": row.click_events,
                "updated_at": now,
            }
            for row in rows
        }
        engine = self._ready_engine()
        insert = _insert(engine, daily_metrics_table)
        upsert = insert.on_conflict_do_update(
            index_elements=[
                daily_metrics_table.c.property_id,
                daily_metrics_table.c.date,
                daily_metrics_table.c.button,
                daily_metrics_table.c.variant,
            ],
            set_={
                name: insert.excluded[name]
                for name in (
                    "exposed_users",
                    "exposure_events",
                    "clicking_users",
                    "click_events",
                    "updated_at",
                )
            },
        )
        with _write_transaction(engine) as connection:
            connection.execute(upsert, list(fresh.values()))

    def _record_alert(self, property_id: str, key: str, sent: SentAlert) -> None:
        engine = self._ready_engine()
        span = sent.span
        insert = _insert(engine, alerts_table).values(
            property_id=property_id,
            alert_key=_storable(key),
            relative_change=sent.relative_change,
            analysis_id=sent.analysis_id,
            previous_rate=sent.previous_rate,
            span_start=None if span is None else span.start,
            span_end=None if span is None else span.end,
            alerted_at=datetime.datetime.now(datetime.timezone.utc),
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[alerts_table.c.property_id, alerts_table.c.alert_key],
            set_={
                name: insert.excluded[name]
                for name in (
                    "relative_change",
                    "analysis_id",
                    "previous_rate",
                    "span_start",
                    "span_end",
                    "alerted_at",
                )
            },
        )
        with _write_transaction(engine) as connection:
            connection.execute(upsert)

    def _fetch_record(self, query: sa.Select[Any]) -> AnalysisRecord | None:
        with self._ready_engine().connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return AnalysisRecord(
            analysis_id=row["analysis_id"],
            workflow_id=row["workflow_id"],
            run_id=row["run_id"],
            property_id=row["property_id"],
            period=_period(row["period_start"], row["period_end"]),
            saved_at=_as_utc(row["saved_at"]),
            insights=self._converter.structure(
                json.loads(row["document"]), ButtonInsights
            ),
        )

    def _fetch_all(self, query: sa.Select[Any]) -> list[sa.RowMapping]:
        with self._ready_engine().connect() as connection:
            return list(connection.execute(query).mappings())

    def _scalar(self, query: sa.Select[Any]) -> Any:
        with self._ready_engine().connect() as connection:
            return connection.scalar(query)

    def _dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
                self._schema_ready = False

    def _ready_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = _create_engine(self._url, self._engine_options)
            if not self._schema_ready:
                _ensure_schema(self._engine)
                self._schema_ready = True
            return self._engine


# --- Engine and schema ----------------------------------------------------------


def _create_engine(url: sa.URL, options: Mapping[str, Any]) -> Engine:
    defaults: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        defaults["connect_args"] = {"connect_timeout": 10}
    elif url.database in (None, "", ":memory:"):
        # One shared connection, or every thread would see its own empty database.
        defaults["poolclass"] = StaticPool
        defaults["connect_args"] = {"check_same_thread": False}
    try:
        engine = sa.create_engine(url, **{**defaults, **options})
    except ModuleNotFoundError as error:
        extra = "postgres" if url.get_backend_name() == "postgresql" else "sql"
        raise ImportError(
            f"the database driver for {url.drivername!r} is not installed "
            f"({error.name}); install it with "
            f"pip install 'ga4-button-workflows[{extra}]'"
        ) from error
    if engine.dialect.name == "sqlite":
        _make_sqlite_transactional(engine)
    return engine


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, begin transactions.

    The sqlite3 module commits before DDL and defers locks; with its own
    transaction handling off, schema creation is atomic and writers take the
    write lock up front instead of failing halfway with "database is locked".
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("ga4_buttons_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


@contextlib.contextmanager
def _write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that takes the write lock when it begins."""
    with engine.connect() as connection:
        connection.execution_options(ga4_buttons_write=True)
        with connection.begin():
            yield connection


def _ensure_schema(engine: Engine) -> None:
    with _write_transaction(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": _POSTGRES_LOCK_KEY},
            )
        schema_version_table.create(connection, checkfirst=True)
        current = connection.scalar(
            sa.select(sa.func.max(schema_version_table.c.version))
        )
        target = SCHEMA_VERSION
        if current is None:
            metadata.create_all(connection, checkfirst=True)
            _stamp(connection, target)
            return
        if current > target:
            raise RuntimeError(
                f"the database's schema is version {current}, newer than the "
                f"version {target} this ga4-button-workflows understands; upgrade "
                "ga4-button-workflows on this worker"
            )
        for version in range(current + 1, target + 1):
            _UPGRADES[version](connection)
            _stamp(connection, version)


def _stamp(connection: Connection, version: int) -> None:
    connection.execute(
        sa.insert(schema_version_table).values(
            version=version, applied_at=datetime.datetime.now(datetime.timezone.utc)
        )
    )


def _insert(
    engine: Engine, table: sa.Table
) -> pg_dialect.Insert | sqlite_dialect.Insert:
    if engine.dialect.name == "postgresql":
        return pg_dialect.insert(table)
    return sqlite_dialect.insert(table)


# --- Rows -----------------------------------------------------------------------


def _metric_rows(record: AnalysisRecord) -> list[dict[str, Any]]:
    period = record.period
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for metrics in record.insights.buttons:
        interval = metrics.click_through_interval
        button, variant = _storable(metrics.button), _storable(metrics.variant)
        rows[button, variant] = {
            "analysis_id": record.analysis_id,
            "button": button,
            "variant": variant,
            "property_id": record.property_id,
            "period_start": period.start if period else None,
            "period_end": period.end if period else None,
            "exposed_users": metrics.exposed_users,
            "exposure_events": metrics.exposure_events,
            "clicking_users": metrics.clicking_users,
            "click_events": metrics.click_events,
            "hovering_users": metrics.hovering_users,
            "hover_events": metrics.hover_events,
            "click_through_rate": metrics.click_through_rate,
            "click_through_rate_lower": interval.lower if interval else None,
            "click_through_rate_upper": interval.upper if interval else None,
            "hover_to_click_rate": metrics.hover_to_click_rate,
            "mean_hover_duration_ms": metrics.mean_hover_duration_ms,
            "engagement_score": metrics.engagement_score,
            "enough_data": metrics.enough_data,
        }
    return list(rows.values())


def _history_point(row: sa.RowMapping) -> ButtonHistoryPoint:
    return ButtonHistoryPoint(
        analysis_id=row["analysis_id"],
        property_id=row["property_id"],
        button=row["button"],
        variant=row["variant"],
        period=_period(row["period_start"], row["period_end"]),
        saved_at=_as_utc(row["saved_at"]),
        exposed_users=row["exposed_users"],
        clicking_users=row["clicking_users"],
        click_events=row["click_events"],
        hovering_users=row["hovering_users"],
        click_through_rate=row["click_through_rate"],
        click_through_rate_lower=row["click_through_rate_lower"],
        click_through_rate_upper=row["click_through_rate_upper"],
        mean_hover_duration_ms=row["mean_hover_duration_ms"],
        engagement_score=row["engagement_score"],
        enough_data=bool(row["enough_data"]),
    )


def _daily_counts(row: sa.RowMapping) -> DailyCounts:
    return DailyCounts(
        date=row["date"],
        button=row["button"],
        variant=row["variant"],
        exposed_users=row["exposed_users"],
        exposure_events=row["exposure_events"],
        clicking_users=row["clicking_users"],
        click_events=row["click_events"],
    )


def _storable(text: str) -> str:
    """``text`` as a column value: PostgreSQL text cannot hold NUL characters."""
    return text.replace("\x00", "\ufffd")


def _period(start: datetime.date | None, end: datetime.date | None) -> Period | None:
    if start is None or end is None:
        return None
    return Period(start, end)


def _as_utc(moment: datetime.datetime) -> datetime.datetime:
    """Return ``moment`` in UTC; SQLite hands back naive UTC datetimes."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)
