"""Hostile GA4 input: fuzzed saved reports, and hostile names in every output.

GA4 values are user-controlled text and saved reports are whatever a file
holds. Every input either becomes a valid insights document (no NaN, no
infinity, stored and read back unchanged) or a data error that names the
problem; names reach every output escaped for that output's format.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import math
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError

from ga4_button_workflows import data_converter
from ga4_button_workflows.aggregate import MAX_NAME_CHARS, ReportBuilder
from ga4_button_workflows.contrib.flask import create_blueprint
from ga4_button_workflows.insights import (
    generate_insights,
    insights_document,
    validate_insights_document,
)
from ga4_button_workflows.metrics import compute_metrics
from ga4_button_workflows.models import (
    NOT_SET,
    AnalysisRecord,
    ButtonInsights,
    ButtonReport,
    Period,
)
from ga4_button_workflows.notifiers import ConsoleNotifier, WebhookNotifier
from ga4_button_workflows.notifiers.email import build_email
from ga4_button_workflows.notifiers.slack import build_slack_message
from ga4_button_workflows.render import render_markdown, render_text
from ga4_button_workflows.schemas import ORIGINAL_LANDING_PAGE
from ga4_button_workflows.sources._ga4_errors import DATA_ERROR
from ga4_button_workflows.sources.report_file import REPORT_FILE_ERROR, ReportFileSource
from ga4_button_workflows.stores.json_file import JSONFileInsightStore
from ga4_button_workflows.stores.memory import MemoryInsightStore
from ga4_button_workflows.stores.sql import SQLInsightStore

PROPERTY_ID = "123456789"
PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
NOW = datetime.datetime(2024, 5, 8, 6, 0, tzinfo=datetime.timezone.utc)

# --- Fuzzed saved reports ------------------------------------------------------------

DIMENSIONS = ("eventName", "customEvent:button_type", "customEvent:page_variant")
METRICS = (
    ("eventCount", "TYPE_INTEGER"),
    ("totalUsers", "TYPE_INTEGER"),
    ("customEvent:hover_duration", "TYPE_MILLISECONDS"),
)
EVENT_NAMES = (
    "page_view",
    "cta_click",
    "button_hover_start",
    "button_hover_end",
    "navigation_click",
    "feature_hover_end",
    "scroll",
)
PLACEHOLDERS = ("(not set)", "(other)", "", "(data not available)")
VARIANTS = ("original", "colors", "sizes")
INT64_MAX = 2**63 - 1
DATA_ERROR_WORDS = ("GA4", "report", "row", "metric", "dimension", "header")
"""A library-written data error says where the problem is; Python's own
messages ("invalid literal for int()", "list index out of range") do not."""


def mostly(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], *, one_in: int = 8
) -> st.SearchStrategy[Any]:
    """``usual``, but ``rare`` about once in ``one_in`` draws.

    Hostile values are drawn rarely enough that most reports still fold, so
    the metrics and insights see the odd numbers too, not only the parser.
    """
    return st.integers(1, one_in).flatmap(lambda roll: rare if roll == 1 else usual)


# What GA4's wire can carry: int64 counts and finite doubles, always as strings,
# plus what a damaged or hand-edited file holds instead.
metric_texts = mostly(
    st.one_of(
        st.integers(0, 10_000).map(str),
        st.integers(0, INT64_MAX).map(str),
        st.sampled_from([str(INT64_MAX), "0", "-0", "12.0", "1.5e3", "0.5", "1e18"]),
        st.floats(min_value=0, max_value=1e30).map(repr),
    ),
    st.one_of(
        st.integers(-INT64_MAX - 1, -1).map(str),
        st.sampled_from(
            ["NaN", "Infinity", "-inf", "", "abc", "1,000", "0x10", " 7", "(not set)"]
        ),
    ),
    one_in=25,
)
dimension_texts = mostly(
    st.sampled_from((*EVENT_NAMES, "cta", *VARIANTS)),
    st.one_of(st.sampled_from(PLACEHOLDERS), st.text(max_size=8)),
    one_in=4,
)


def cells(
    values: st.SearchStrategy[str], *, omitted_one_in: int
) -> st.SearchStrategy[Any]:
    """A cell as GA4 sends it, or with its value left out (proto3 JSON omits "")."""
    return mostly(
        values.map(lambda value: [("value", value)]),
        st.just([]),
        one_in=omitted_one_in,
    )


class JSONObject(list[tuple[str, Any]]):
    """An object as key-value pairs, so a key may repeat in the written text."""


def write_json(value: Any) -> str:
    """Write ``value`` as JSON; a :class:`JSONObject` keeps its repeated keys."""
    if isinstance(value, JSONObject):
        return (
            "{"
            + ",".join(f"{json.dumps(key)}:{write_json(item)}" for key, item in value)
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(write_json(item) for item in value) + "]"
    return json.dumps(value)


@st.composite
def objects(
    draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], required: Sequence[str]
) -> JSONObject:
    """An object with the required fields, maybe others, maybe a key twice."""
    names = list(required) + [
        name for name in fields if name not in required and draw(st.booleans())
    ]
    if names and draw(st.integers(0, 4)) == 0:
        names.append(draw(st.sampled_from(names)))  # a duplicate key
    return JSONObject((name, draw(fields[name])) for name in names)


@st.composite
def headers(draw: st.DrawFn, kind: str) -> list[JSONObject]:
    """Dimension or metric headers: complete, shuffled, short, doubled or odd."""
    if kind == "dimension":
        wanted: list[JSONObject] = [JSONObject([("name", name)]) for name in DIMENSIONS]
        extra = JSONObject([("name", draw(st.sampled_from(["date", "pagePath"])))])
    else:
        wanted = [
            JSONObject([("name", name), ("type", metric_type)])
            for name, metric_type in METRICS
        ]
        extra = JSONObject(
            [
                ("name", "customEvent:hover_duration"),
                ("type", draw(st.sampled_from(["TYPE_SECONDS", 5, "TYPE_CURRENCY"]))),
            ]
        )
    shape = draw(
        mostly(
            st.sampled_from(["complete", "complete", "shuffled"]),
            st.sampled_from(["short", "doubled", "odd"]),
            one_in=6,
        )
    )
    if shape == "shuffled":
        return draw(st.permutations(wanted))
    if shape == "short":
        del wanted[draw(st.integers(0, len(wanted) - 1))]
    elif shape == "doubled":
        wanted.append(draw(st.sampled_from(wanted)))
    elif shape == "odd":
        wanted.append(draw(st.sampled_from([extra, JSONObject()])))
    return wanted


@st.composite
def saved_reports(draw: st.DrawFn) -> str:
    """The text of a saved runReport response, damaged in the ways files are."""
    dimension_headers = draw(headers("dimension"))
    metric_headers = draw(headers("metric"))

    @st.composite
    def rows(draw: st.DrawFn) -> JSONObject:
        width = len(dimension_headers) + draw(
            mostly(st.just(0), st.sampled_from([-1, 1]), one_in=20)
        )
        depth = len(metric_headers) + draw(
            mostly(st.just(0), st.sampled_from([-1, 1]), one_in=20)
        )
        return draw(
            objects(
                {
                    "dimensionValues": st.lists(
                        cells(dimension_texts, omitted_one_in=6).map(JSONObject),
                        min_size=max(width, 0),
                        max_size=max(width, 0),
                    ),
                    "metricValues": st.lists(
                        cells(metric_texts, omitted_one_in=40).map(JSONObject),
                        min_size=max(depth, 0),
                        max_size=max(depth, 0),
                    ),
                },
                required=("dimensionValues", "metricValues"),
            )
        )

    document = draw(
        objects(
            {
                "dimensionHeaders": st.just(dimension_headers),
                "metricHeaders": st.just(metric_headers),
                "rows": st.lists(rows(), max_size=8),
                "rowCount": st.integers(0, 50),
                "metadata": objects(
                    {
                        "subjectToThresholding": st.booleans(),
                        "dataLossFromOtherRow": st.booleans(),
                        "timeZone": st.sampled_from(["UTC", "America/Los_Angeles"]),
                        "currencyCode": st.just("USD"),
                    },
                    required=(),
                ),
                "kind": st.just("analyticsData#runReport"),
            },
            required=draw(
                mostly(
                    st.just(("dimensionHeaders", "metricHeaders", "rows")),
                    st.sampled_from(
                        [
                            ("dimensionHeaders", "metricHeaders"),
                            ("metricHeaders", "rows"),
                            ("dimensionHeaders", "rows"),
                        ]
                    ),
                    one_in=10,
                )
            ),
        )
    )
    return write_json(document)


def assert_named_data_error(error: BaseException) -> None:
    """The error is a data error whose message says where the problem is."""
    assert isinstance(error, ApplicationError | ValueError), repr(error)
    message = str(error)
    assert any(word in message for word in DATA_ERROR_WORDS), message
    if isinstance(error, ApplicationError):
        assert error.type in (DATA_ERROR, REPORT_FILE_ERROR), error.type
        assert error.non_retryable


def report_from_text(text: str) -> ButtonReport:
    """Fold a saved report's text through ReportFileSource."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        path.write_text(text, encoding="utf-8")
        return ReportFileSource(path).read_report(
            property_id=PROPERTY_ID, period=PERIOD
        )


def insights_from_text(text: str) -> tuple[ButtonReport, ButtonInsights]:
    report = report_from_text(text)
    return report, generate_insights(compute_metrics(report), generated_at=NOW)


def refuse_non_finite(token: str) -> float:
    raise AssertionError(f"{token} in a stored JSON file")


def record_of(
    insights: ButtonInsights, analysis_id: str = "analysis-1"
) -> AnalysisRecord:
    return AnalysisRecord(
        analysis_id=analysis_id,
        workflow_id=analysis_id,
        run_id="run-1",
        property_id=PROPERTY_ID,
        period=PERIOD,
        saved_at=NOW,
        insights=insights,
    )


def floats_in(value: Any) -> Iterator[float]:
    """Every float in a decoded JSON value."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from floats_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from floats_in(item)


class TestSavedReportFuzzing:
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(text=saved_reports())
    @example(  # "rows" twice: the corrupt first value is overridden by the last
        text='{"dimensionHeaders":[{"name":"eventName"},{"name":"customEvent:'
        'button_type"},{"name":"customEvent:page_variant"}],"metricHeaders":'
        '[{"name":"eventCount","type":"TYPE_INTEGER"},{"name":"totalUsers",'
        '"type":"TYPE_INTEGER"},{"name":"customEvent:hover_duration","type":'
        '"TYPE_MILLISECONDS"}],"rows":[{"dimensionValues":[{"value":"cta_click"},'
        '{"value":"cta"},{"value":"original"}],"metricValues":[{"value":"5"},'
        '{"value":"-5"},{"value":"10"}]}],"rows":[]}'
    )
    async def test_a_saved_report_yields_valid_insights_or_a_named_data_error(
        self, text: str
    ) -> None:
        try:
            report, insights = insights_from_text(text)
        except Exception as error:  # the property: which exceptions escape
            assert_named_data_error(error)
            return

        # The fetch activity's result crosses Temporal with allow_nan=False.
        data_converter.payload_converter.to_payloads([report])
        document = insights_document(insights)
        validate_insights_document(document)
        assert all(math.isfinite(number) for number in floats_in(document))

        memory = MemoryInsightStore()
        await memory.save_analysis(record_of(insights))
        assert await memory.get_analysis("analysis-1") == record_of(insights)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "insights.json"
            store = JSONFileInsightStore(path)
            await store.save_analysis(record_of(insights))
            saved = await store.get_analysis("analysis-1")
            stored_text = path.read_text(encoding="utf-8")
        assert saved is not None
        assert saved.insights == insights
        json.loads(stored_text, parse_constant=refuse_non_finite)

    def test_a_repeated_key_reads_as_its_last_value(self) -> None:
        first = json.dumps({"value": "cta"})[:-1]
        text = (
            '{"dimensionHeaders":[{"name":"eventName"},{"name":"customEvent:'
            'button_type"},{"name":"customEvent:page_variant"}],"metricHeaders":'
            '[{"name":"eventCount","type":"TYPE_INTEGER"},{"name":"totalUsers",'
            '"type":"TYPE_INTEGER"},{"name":"customEvent:hover_duration","type":'
            '"TYPE_MILLISECONDS"}],"rows":[{"dimensionValues":[{"value":"cta_click"},'
            f'{first},"value":"buy"}},{{"value":"original"}}],"metricValues":'
            '[{"value":"5"},{"value":"4"},{"value":"10"}]}]}'
        )

        report = report_from_text(text)

        assert [(c.button, c.click_events) for c in report.counts] == [("buy", 5)]

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            (0, "1" + "0" * 309),  # an event count past every float
            (2, "1" + "0" * 309),  # a duration written as an integer literal
        ],
        ids=["eventCount", "hover_duration"],
    )
    def test_a_number_past_the_float_range_is_a_named_data_error(
        self, column: int, value: str
    ) -> None:
        metrics = ["5", "4", "10"]
        metrics[column] = value
        text = json.dumps(
            {
                "dimensionHeaders": [{"name": name} for name in DIMENSIONS],
                "metricHeaders": [
                    {"name": name, "type": metric_type} for name, metric_type in METRICS
                ],
                "rows": [
                    {
                        "dimensionValues": [
                            {"value": "cta_click"},
                            {"value": "cta"},
                            {"value": "original"},
                        ],
                        "metricValues": [{"value": metric} for metric in metrics],
                    },
                    {
                        "dimensionValues": [
                            {"value": "page_view"},
                            {"value": "(not set)"},
                            {"value": "original"},
                        ],
                        "metricValues": [
                            {"value": "50"},
                            {"value": "40"},
                            {"value": "0"},
                        ],
                    },
                ],
            }
        )

        with pytest.raises(ApplicationError) as raised:
            insights_from_text(text)

        assert_named_data_error(raised.value)
        assert METRICS[column][0] in str(raised.value)

    @pytest.mark.parametrize(
        ("field", "document"),
        [
            ("rowCount", {"rowCount": "twelve"}),
            (
                "samplingMetadatas",
                {
                    "metadata": {
                        "samplingMetadatas": [
                            {"samplesReadCount": "1.5e3", "samplingSpaceSize": "9000"}
                        ]
                    }
                },
            ),
        ],
        ids=["rowCount", "samplingMetadatas"],
    )
    def test_a_malformed_report_field_is_a_named_data_error(
        self, field: str, document: dict[str, Any]
    ) -> None:
        text = json.dumps(
            {
                "dimensionHeaders": [{"name": name} for name in DIMENSIONS],
                "metricHeaders": [
                    {"name": name, "type": metric_type} for name, metric_type in METRICS
                ],
                "rows": [],
                **document,
            }
        )

        with pytest.raises(ApplicationError) as raised:
            report_from_text(text)

        assert_named_data_error(raised.value)
        assert field in str(raised.value)


# --- Hostile names in every output ---------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"
SLACK = "<!channel> <@U123> <https://evil|click>"
SQL = "'; DROP TABLE analyses; --"
CONTROL = "nul\x00byte \x1b[31mred"
BIDI = "\u202egnp.exe"
LONG = "W" * 10_000
HOSTILE_NAMES = (SCRIPT, IMAGE, SLACK, SQL, CONTROL, BIDI, LONG)
RAW_MARKUP = (SCRIPT, IMAGE, "<script", "<img", "<!channel>", "<@U123>", "<https://")
FORBIDDEN = ("\x00", "\x1b", "\u202e", "W" * (MAX_NAME_CHARS + 1))

NORMALISED = {
    SCRIPT: SCRIPT,
    IMAGE: IMAGE,
    SLACK: SLACK,
    SQL: SQL,
    CONTROL: "nul byte [31mred",
    BIDI: "gnp.exe",
    # Cut to the limit, ending in "…#" and a digest of the whole name.
    LONG: "W" * (MAX_NAME_CHARS - 10)
    + "…#"
    + hashlib.blake2b(LONG.encode(), digest_size=4).hexdigest(),
}


def hostile_report() -> ButtonReport:
    """Every hostile string as a button and as a variant, with enough traffic."""
    builder = ReportBuilder(
        ORIGINAL_LANDING_PAGE, property_id=PROPERTY_ID, period=PERIOD, max_buttons=10
    )
    variants = ("original", *HOSTILE_NAMES)
    for variant in variants:
        builder.add_row(
            event_name="page_view",
            button=None,
            variant=variant,
            event_count=5_200,
            users=4_000,
        )
    for rank, button in enumerate(HOSTILE_NAMES):
        for lift, variant in enumerate(variants):
            clicks = 200 + 15 * rank + (120 if variant == SCRIPT else lift)
            builder.add_row(
                event_name="cta_click",
                button=button,
                variant=variant,
                event_count=clicks + 30,
                users=clicks,
                duration_ms=900.0 * clicks,
            )
            builder.add_row(
                event_name="button_hover_start",
                button=button,
                variant=variant,
                event_count=1_000,
                users=800,
            )
    return builder.build()


@pytest.fixture(scope="module")
def hostile_insights() -> ButtonInsights:
    return generate_insights(compute_metrics(hostile_report()), generated_at=NOW)


def assert_clean(text: str) -> None:
    """No control character, no bidi override and no over-long name in ``text``."""
    for forbidden in FORBIDDEN:
        assert forbidden not in text, f"{forbidden[:8]!r} in the output"


def assert_no_raw_markup(text: str) -> None:
    for markup in RAW_MARKUP:
        assert markup not in text, f"{markup!r} reached the output unescaped"


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


class TestHostileNames:
    def test_names_are_normalised_before_any_output(
        self, hostile_insights: ButtonInsights
    ) -> None:
        buttons = {metrics.button for metrics in hostile_insights.buttons}
        variants = {metrics.variant for metrics in hostile_insights.buttons}
        document = insights_document(hostile_insights)

        assert buttons == set(NORMALISED.values())
        assert variants == {"original", *NORMALISED.values()}
        assert hostile_insights.best_performing_button is not None
        assert hostile_insights.comparisons
        validate_insights_document(document)
        for text in strings_in(document):
            assert_clean(text)

    def test_plain_text_shows_clean_names(
        self, hostile_insights: ButtonInsights
    ) -> None:
        text = render_text(hostile_insights)

        assert SQL in text
        assert NORMALISED[LONG] in text
        assert_clean(text)

    async def test_the_console_notifier_writes_clean_names(
        self, hostile_insights: ButtonInsights
    ) -> None:
        stream = io.StringIO()

        await ConsoleNotifier(stream).send(hostile_insights, analysis_id="analysis-1")

        written = stream.getvalue()
        assert NORMALISED[LONG] in written
        assert_clean(written)

    def test_markdown_shows_names_as_text_not_html(
        self, hostile_insights: ButtonInsights
    ) -> None:
        markdown = render_markdown(hostile_insights)

        assert_clean(markdown)
        # Markdown renderers pass inline HTML through (MkDocs, most wikis).
        assert_no_raw_markup(markdown)

    def test_slack_text_carries_no_control_sequence(
        self, hostile_insights: ButtonInsights
    ) -> None:
        message = build_slack_message(hostile_insights, analysis_id="analysis-1")

        texts = [text for text in strings_in(message) if text]
        assert any("&lt;!channel&gt;" in text for text in texts)
        for text in texts:
            assert "<" not in text, text
            assert ">" not in text, text
            assert_clean(text)

    def test_the_email_escapes_html_and_keeps_headers_on_one_line(
        self, hostile_insights: ButtonInsights
    ) -> None:
        message = build_email(
            hostile_insights,
            analysis_id="analysis-1",
            sender="ga4@example.com",
            recipients=["team@example.com"],
        )

        html_part = message.get_body(("html",))
        plain_part = message.get_body(("plain",))
        assert html_part is not None
        assert plain_part is not None
        html = html_part.get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert_no_raw_markup(html)
        assert_clean(html)
        assert_clean(plain_part.get_content())
        for name, value in message.items():
            assert "\n" not in value.strip(), name
            assert "\r" not in value, name

    def test_the_webhook_body_carries_the_exact_normalised_names(
        self, hostile_insights: ButtonInsights
    ) -> None:
        notifier = WebhookNotifier("https://example.com/hook", secret="s3cret")

        body = notifier.request_body(hostile_insights)

        document = json.loads(body, parse_constant=refuse_non_finite)
        assert document == insights_document(hostile_insights)
        assert {entry["button"] for entry in document["buttons"]} == set(
            NORMALISED.values()
        )
        for text in strings_in(document):
            assert_clean(text)

    async def test_the_json_file_store_round_trips_the_names(
        self, hostile_insights: ButtonInsights, tmp_path: Path
    ) -> None:
        path = tmp_path / "insights.json"
        store = JSONFileInsightStore(path)

        await store.save_analysis(record_of(hostile_insights))
        saved = await store.get_analysis("analysis-1")

        assert saved is not None
        assert saved.insights == hostile_insights
        stored = json.loads(path.read_text(encoding="utf-8"))
        for text in strings_in(stored):
            assert_clean(text)

    async def test_the_sql_store_returns_the_exact_names(
        self, hostile_insights: ButtonInsights, tmp_path: Path
    ) -> None:
        async with SQLInsightStore(f"sqlite:///{tmp_path / 'insights.db'}") as store:
            await store.save_analysis(record_of(hostile_insights))
            saved = await store.get_analysis("analysis-1")
            histories = {
                name: await store.button_history(PROPERTY_ID, name)
                for name in NORMALISED.values()
            }
            latest = await store.latest_analysis(PROPERTY_ID)

        assert saved is not None
        assert saved.insights == hostile_insights
        assert latest is not None
        assert latest.analysis_id == "analysis-1"
        for name, points in histories.items():
            assert points, f"no history for {name!r}"
            assert {point.button for point in points} == {name}
            assert NOT_SET not in {point.variant for point in points}

    async def test_the_dashboard_escapes_every_name(
        self, hostile_insights: ButtonInsights
    ) -> None:
        store = MemoryInsightStore()
        await store.save_analysis(record_of(hostile_insights))
        blueprint = create_blueprint(
            store=store,
            property_ids=PROPERTY_ID,
            target_host="127.0.0.1:1",
            authorize=lambda request: True,
        )
        try:
            app = Flask("hostile_names")
            app.testing = True
            app.register_blueprint(blueprint)
            page = app.test_client().get("/analytics")
        finally:
            blueprint.close()

        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        # The page's own script: one tag, from the blueprint's static folder.
        own_script = r'<script defer src="/_ga4_buttons/static/[\w/.]+"></script>'
        assert len(re.findall(own_script, html)) == 1
        assert_no_raw_markup(re.sub(own_script, "", html))
        assert_clean(html)

    def test_an_unknown_event_name_reaches_the_caveats_clean(self) -> None:
        builder = ReportBuilder(
            ORIGINAL_LANDING_PAGE, property_id=PROPERTY_ID, period=PERIOD
        )
        builder.add_row(
            event_name=f"{SCRIPT}{CONTROL}{BIDI}{LONG}",
            button="cta",
            variant="original",
            event_count=1,
            users=1,
        )

        insights = generate_insights(compute_metrics(builder.build()), generated_at=NOW)

        assert insights.caveats
        for caveat in insights.caveats:
            assert_clean(caveat)
