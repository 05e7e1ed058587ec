"""The pre-flight check asks GA4's getMetadata what the schema needs and lacks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ga4_button_workflows.preflight import (
    PreflightError,
    PreflightResult,
    check_metadata,
    check_property,
    required_fields,
)
from ga4_button_workflows.schemas import (
    ECOMMERCE_PROMOTIONS,
    ORIGINAL_LANDING_PAGE,
    OUTBOUND_LINKS,
)
from ga4_button_workflows.sources.ga4 import GA4DataSource
from ga4_button_workflows.testing import Fault, GA4Emulator

TRANSPORTS = ["grpc", "rest"]


def source(emulator: GA4Emulator, transport: str) -> GA4DataSource:
    factory: Callable[[], Any] = (
        functools.partial(emulator.client, "rest")
        if transport == "rest"
        else emulator.async_client
    )
    return GA4DataSource(client_factory=factory)


async def check(emulator: GA4Emulator, transport: str = "grpc", **options: Any) -> Any:
    async with source(emulator, transport) as data_source:
        return await check_property(
            options.pop("property_id", emulator.property_id),
            source=data_source,
            **options,
        )


class TestCheckProperty:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_unregistered_definitions_are_listed_with_what_to_do(
        self, transport: str
    ) -> None:
        async with GA4Emulator(custom_dimensions=["page_variant"]) as emulator:
            result = await check(emulator, transport)

        assert not result.ready
        assert result.missing_dimensions == ("customEvent:button_type",)
        assert result.missing_metrics == ("customEvent:hover_duration",)
        summary = result.summary()
        assert f"GA4 property {emulator.property_id} lacks 2 definition(s)" in summary
        assert "register the event parameter 'button_type'" in summary
        assert "custom metric (scope Event, unit Milliseconds)" in summary
        assert "no backfill" in summary
        assert [r.method for r in emulator.requests] == ["getMetadata"]

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_a_ready_property_says_so(self, transport: str) -> None:
        async with GA4Emulator(
            custom_dimensions=["button_type", "page_variant"],
            custom_metrics={"hover_duration": "TYPE_MILLISECONDS"},
        ) as emulator:
            result = await check(emulator, transport)

        assert result.ready
        assert (result.missing, result.warnings) == ((), ())
        assert "has every dimension and metric" in result.summary()

    async def test_a_duration_without_a_unit_is_a_warning(self) -> None:
        async with GA4Emulator(
            custom_dimensions=["button_type", "page_variant"],
            custom_metrics=["hover_duration"],
        ) as emulator:
            result = await check(emulator)

        assert result.ready
        [warning] = result.warnings
        assert "TYPE_STANDARD" in warning
        assert "milliseconds" in warning
        assert "Note: " in result.summary()

    async def test_a_duration_in_feet_must_be_registered_again(self) -> None:
        async with GA4Emulator(
            custom_dimensions=["button_type", "page_variant"],
            custom_metrics={"hover_duration": "TYPE_FEET"},
        ) as emulator:
            result = await check(emulator)

        assert not result.ready
        [missing] = result.missing
        assert "TYPE_FEET" in missing.hint

    async def test_standard_dimensions_need_no_registration(self) -> None:
        async with GA4Emulator() as emulator:
            links = await check(emulator, schema=OUTBOUND_LINKS)
            promotions = await check(emulator, schema=ECOMMERCE_PROMOTIONS)

        assert links.ready
        assert promotions.ready

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_a_property_without_access_is_a_preflight_error(
        self, transport: str
    ) -> None:
        async with GA4Emulator() as emulator:
            with pytest.raises(PreflightError, match="property 4242") as raised:
                await check(emulator, transport, property_id="4242")

        assert raised.value.error_type == "GA4PermissionDenied"
        assert not raised.value.retryable
        assert isinstance(raised.value, ValueError)

    async def test_an_outage_is_a_retryable_preflight_error(self) -> None:
        fault = Fault(status="UNAVAILABLE", method="getMetadata")
        async with GA4Emulator(faults=[fault]) as emulator:
            with pytest.raises(PreflightError) as raised:
                await check(emulator)

        assert raised.value.retryable

    async def test_a_measurement_id_is_refused_before_asking(self) -> None:
        async with GA4Emulator() as emulator:
            with pytest.raises(ValueError, match="measurement ID"):
                await check(emulator, property_id="G-JHSVNWL6QH")

        assert emulator.requests == ()

    async def test_without_credentials_the_error_says_how_to_get_them(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "x.json"))

        with pytest.raises(PreflightError, match="GOOGLE_APPLICATION_CREDENTIALS"):
            await check_property("123456789")

    async def test_a_missing_key_file_is_named(self) -> None:
        with pytest.raises(PreflightError, match="service-account key file"):
            await check_property("123", credentials_file="/nonexistent/key.json")


class TestRequiredFields:
    def test_the_landing_page_needs_its_custom_definitions(self) -> None:
        assert required_fields(ORIGINAL_LANDING_PAGE) == (
            ("eventName", "customEvent:button_type", "customEvent:page_variant"),
            ("eventCount", "totalUsers", "customEvent:hover_duration"),
        )

    def test_promotions_need_item_metrics(self) -> None:
        assert required_fields(ECOMMERCE_PROMOTIONS)[1] == (
            "itemsViewedInPromotion",
            "itemsClickedInPromotion",
            "totalUsers",
        )

    def test_check_metadata_is_pure(self) -> None:
        class Item:
            def __init__(self, api_name: str, type_: int = 1) -> None:
                self.api_name = api_name
                self.type_ = type_

        class Metadata:
            dimensions = (Item("eventName"), Item("linkUrl"))
            metrics = (Item("eventCount"), Item("totalUsers"))

        result = check_metadata(Metadata(), OUTBOUND_LINKS, property_id="9")
        assert result == PreflightResult(property_id="9", schema_name="outbound_links")
