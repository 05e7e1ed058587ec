"""Event schema presets, read from GA4 through the emulator, and schema files."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ga4_button_workflows.models import (
    EventRole,
    EventRule,
    EventSchema,
    FetchRequest,
    Period,
)
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.schemas import (
    ECOMMERCE_PROMOTIONS,
    GENERIC_BUTTONS,
    ORIGINAL_LANDING_PAGE,
    OUTBOUND_LINKS,
    PRESETS,
    get_schema,
    load_schema,
    resolve_schema,
)
from ga4_button_workflows.sources.ga4 import GA4DataSource, aggregate_report_request
from ga4_button_workflows.testing import EmulatedEvent, GA4Emulator

DAY = datetime.date(2024, 5, 1)
PERIOD = Period(DAY, DAY + datetime.timedelta(days=6))

PRICING_TOML = """
name = "pricing_page"
button_dimension = "customEvent:plan_id"
variant_dimension = "customEvent:layout"
duration_metric = "customEvent:hover_duration"
control_variant = "grid"

[[rules]]
event_name = "plan_impression"
role = "exposure"

[[rules]]
event_name = "plan_hover"
role = "hover_end"
carries_duration = true

[[rules]]
event_name = "plan_click"
role = "click"
carries_duration = true
"""

PRICING_PAGE = EventSchema(
    name="pricing_page",
    rules=(
        EventRule(event_name="plan_impression", role=EventRole.EXPOSURE),
        EventRule(
            event_name="plan_hover", role=EventRole.HOVER_END, carries_duration=True
        ),
        EventRule(event_name="plan_click", role=EventRole.CLICK, carries_duration=True),
    ),
    button_dimension="customEvent:plan_id",
    variant_dimension="customEvent:layout",
    duration_metric="customEvent:hover_duration",
    control_variant="grid",
)


NAME = 'name = "x"'
RULE = '{event_name = "a", role = "click"}'


def rules(*tables: str) -> str:
    return f"{NAME}\nrules = [{', '.join(tables)}]"


def event(name: str, user: str, **params: Any) -> EmulatedEvent:
    return EmulatedEvent(date=DAY, user_id=user, event_name=name, params=params)


async def fetch(events: list[EmulatedEvent], schema: EventSchema) -> Any:
    async with (
        GA4Emulator(
            events,
            custom_dimensions=["button_id", "page_variant"],
            custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
            today=PERIOD.end + datetime.timedelta(days=1),
        ) as emulator,
        GA4DataSource(client_factory=emulator.async_client, schema=schema) as source,
    ):
        report = await source.fetch_report(
            FetchRequest(property_id=emulator.property_id, period=PERIOD),
            FetchContext(),
        )
    return report, emulator.report_requests()


class TestPresets:
    def test_every_preset_is_registered_by_name(self) -> None:
        assert set(PRESETS) == {
            "original_landing_page",
            "generic_buttons",
            "outbound_links",
            "ecommerce_promotions",
        }
        assert all(get_schema(name) is schema for name, schema in PRESETS.items())

    def test_an_unknown_preset_lists_the_presets(self) -> None:
        with pytest.raises(ValueError, match="ecommerce_promotions") as raised:
            get_schema("landing")
        assert "'landing'" in str(raised.value)

    async def test_generic_buttons_read_button_ids_and_hover_durations(self) -> None:
        events = [
            event("button_view", "u1", button_id="signup", page_variant="control"),
            event("button_view", "u2", button_id="signup", page_variant="control"),
            event(
                "button_hover",
                "u1",
                button_id="signup",
                page_variant="control",
                hover_duration=400,
            ),
            event("button_click", "u1", button_id="signup", page_variant="control"),
        ]
        report, _ = await fetch(events, GENERIC_BUTTONS)

        [signup] = report.counts
        assert (signup.button, signup.variant) == ("signup", "control")
        assert (signup.exposed_users, signup.clicking_users) == (2, 1)
        assert (signup.hover_events, signup.hover_duration_total_ms) == (1, 400.0)

    async def test_outbound_links_are_clicks_per_link_url(self) -> None:
        events = [
            event("click", "u1", link_url="https://partner.example/a", outbound="true"),
            event("click", "u2", link_url="https://partner.example/a", outbound="true"),
            event("click", "u2", link_url="https://other.example/", outbound="true"),
        ]
        report, requests = await fetch(events, OUTBOUND_LINKS)

        assert not report.has_exposure_event
        clicks = {c.button: (c.clicking_users, c.exposed_users) for c in report.counts}
        assert clicks == {
            "https://partner.example/a": (2, None),
            "https://other.example/": (1, None),
        }
        assert {c.variant for c in report.counts} == {"default"}
        assert requests[0].dimensions == ("eventName", "linkUrl")

    async def test_promotions_are_counted_with_item_metrics(self) -> None:
        def promotion(name: str, user: str, creative: str) -> EmulatedEvent:
            return event(
                name, user, promotion_name="summer_sale", creative_name=creative
            )

        events = [
            promotion("view_promotion", "u1", "control"),
            promotion("view_promotion", "u2", "control"),
            promotion("view_promotion", "u3", "banner_b"),
            promotion("select_promotion", "u1", "control"),
        ]
        report, requests = await fetch(events, ECOMMERCE_PROMOTIONS)

        counts = {
            c.variant: (c.exposed_users, c.exposure_events, c.click_events)
            for c in report.counts
        }
        assert counts == {"banner_b": (1, 1, 0), "control": (2, 2, 1)}
        assert requests[0].metrics == (
            "itemsViewedInPromotion",
            "itemsClickedInPromotion",
            "totalUsers",
        )
        assert "eventCount" not in requests[0].metrics

    @pytest.mark.parametrize("schema", list(PRESETS.values()), ids=list(PRESETS))
    def test_each_preset_asks_only_for_its_events(self, schema: EventSchema) -> None:
        request = aggregate_report_request(schema, "1", PERIOD)

        values = list(request.dimension_filter.filter.in_list_filter.values)
        assert values == list(schema.event_names)
        assert "date" not in [d.name for d in request.dimensions]


class TestSchemaFiles:
    def test_a_toml_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "pricing.toml"
        path.write_text(PRICING_TOML)

        assert load_schema(path) == PRICING_PAGE

    def test_a_json_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "promotions.json"
        path.write_text(
            json.dumps(
                {
                    "name": "promos",
                    "button_dimension": "itemPromotionName",
                    "rules": [
                        {
                            "event_name": "view_promotion",
                            "role": "exposure",
                            "count_metric": "itemsViewedInPromotion",
                        },
                        {"event_name": "select_promotion", "role": "click"},
                    ],
                }
            )
        )

        schema = load_schema(path)
        assert schema.rules[0].count_metric == "itemsViewedInPromotion"
        assert schema.rules[1].count_metric is None
        assert schema.control_variant == "original"

    def test_resolve_schema_takes_a_preset_or_a_file(self, tmp_path: Path) -> None:
        path = tmp_path / "pricing.TOML"
        path.write_text(PRICING_TOML)

        assert resolve_schema("outbound_links") is OUTBOUND_LINKS
        assert resolve_schema(str(path)) == PRICING_PAGE
        assert resolve_schema(path) == PRICING_PAGE

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (f"{NAME}\nrule = []", "unknown key 'rule'; the keys are: name, rules"),
            (f"rules = [{RULE}]", "the key 'name' is missing"),
            (f"{NAME}\nrules = []", "'rules' is empty"),
            (f"name = 3\nrules = [{RULE}]", "'name' must be a string, not int 3"),
            (rules('{event_name = "a", role = "tap"}'), "role 'tap' is not one of"),
            (rules('{event_name = "a"}'), "rules[0]: the key 'role' is missing"),
            (rules(RULE[:-1] + ", page = true}"), "rules[0]: unknown key 'page'"),
            (rules(RULE[:-1] + ', page_level = "y"}'), "'page_level' must be a bool"),
            (rules('"a"'), "rules[0]: expected a table of keys, not str"),
            (f"{NAME}\nrules = {RULE}", "'rules' must be a list of tables"),
            (rules(RULE, RULE), "the event 'a' has more than one rule"),
            ("name = ", "not valid TOML"),
        ],
    )
    def test_a_bad_file_names_the_file_and_the_key(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "bad.toml"
        path.write_text(text)

        with pytest.raises(ValueError, match=r"bad\.toml") as raised:
            load_schema(path)
        assert message in str(raised.value)

    def test_a_file_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "schema.yaml"
        path.write_text("name: x")

        with pytest.raises(ValueError, match=r"\.toml or \.json"):
            load_schema(path)

    def test_a_missing_file_is_an_os_error(self, tmp_path: Path) -> None:
        with pytest.raises(OSError, match="missing"):
            load_schema(tmp_path / "missing.json")

    @settings(max_examples=50)
    @given(st.data())
    def test_any_schema_survives_a_json_round_trip(
        self, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
    ) -> None:
        names = st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
            min_size=1,
            max_size=12,
        )
        rules = data.draw(
            st.lists(
                st.builds(
                    EventRule,
                    event_name=names,
                    role=st.sampled_from(EventRole),
                    button=st.none() | names,
                    page_level=st.booleans(),
                    carries_duration=st.booleans(),
                    count_metric=st.none() | names,
                ),
                min_size=1,
                max_size=5,
                unique_by=lambda rule: rule.event_name,
            )
        )
        schema = EventSchema(
            name=data.draw(names),
            rules=tuple(rules),
            button_dimension=data.draw(st.none() | names),
            variant_dimension=data.draw(st.none() | names),
            duration_metric=data.draw(st.none() | names),
            default_variant=data.draw(names),
            control_variant=data.draw(names),
        )
        document = {
            key: value
            for key, value in {
                "name": schema.name,
                "button_dimension": schema.button_dimension,
                "variant_dimension": schema.variant_dimension,
                "duration_metric": schema.duration_metric,
                "default_variant": schema.default_variant,
                "control_variant": schema.control_variant,
                "rules": [
                    {
                        key: value
                        for key, value in {
                            "event_name": rule.event_name,
                            "role": rule.role.value,
                            "button": rule.button,
                            "page_level": rule.page_level,
                            "carries_duration": rule.carries_duration,
                            "count_metric": rule.count_metric,
                        }.items()
                        if value is not None
                    }
                    for rule in schema.rules
                ],
            }.items()
            if value is not None
        }
        path = tmp_path_factory.mktemp("schema") / "schema.json"
        path.write_text(json.dumps(document))

        assert load_schema(path) == schema


def test_the_original_preset_is_unchanged() -> None:
    assert get_schema("original_landing_page") is ORIGINAL_LANDING_PAGE
    assert ORIGINAL_LANDING_PAGE.button_dimension == "customEvent:button_type"
