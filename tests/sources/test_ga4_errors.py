"""GA4 failures become ApplicationErrors that say what to do (ga4_cases.md 12-16).

The emulator answers with GA4's statuses and messages; the REST client raises
``TooManyRequests`` / ``Forbidden`` / ``BadRequest`` where gRPC raises their
subclasses, so every case runs on both transports.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from hypothesis import given
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.models import FetchRequest, Period
from ga4_button_workflows.ports import FetchContext
from ga4_button_workflows.sources._ga4_errors import (
    CREDENTIALS_ERROR,
    INVALID_PROPERTY,
    INVALID_REQUEST,
    PERMISSION_DENIED,
    QUOTA_EXHAUSTED,
    SERVER_ERROR,
    UNAUTHENTICATED,
    UNREGISTERED_DEFINITION,
    classify_ga4_error,
    credential_identity,
    quota_retry_delay,
)
from ga4_button_workflows.sources.ga4 import GA4DataSource
from ga4_button_workflows.testing import EmulatedEvent, Fault, GA4Emulator

TODAY = datetime.date(2024, 5, 10)
PERIOD = Period(datetime.date(2024, 5, 1), datetime.date(2024, 5, 7))
TRANSPORTS = ["grpc", "rest"]
SA_EMAIL = "ga4-reader@example-project.iam.gserviceaccount.com"
CONCURRENT = "Exhausted concurrent requests quota."
NOT_VALID = "Field customEvent:x is not a valid dimension."


def emulator(**options: Any) -> GA4Emulator:
    options.setdefault("custom_dimensions", ["button_type", "page_variant"])
    options.setdefault("custom_metrics", {"hover_duration": "TYPE_MILLISECONDS"})
    events = [
        EmulatedEvent(
            date=PERIOD.start,
            user_id="u1",
            event_name="cta_click",
            params={"button_type": "cta", "page_variant": "original"},
        )
    ]
    return GA4Emulator(events, today=TODAY, **options)


def source(running: GA4Emulator, transport: str, **options: Any) -> GA4DataSource:
    factory: Callable[[], Any] = (
        functools.partial(running.client, "rest")
        if transport == "rest"
        else running.async_client
    )
    return GA4DataSource(client_factory=factory, **options)


async def fetch_error(
    running: GA4Emulator,
    transport: str,
    *,
    property_id: str | None = None,
    data_source: GA4DataSource | None = None,
) -> ApplicationError:
    data_source = data_source or source(running, transport)
    try:
        with pytest.raises(ApplicationError) as raised:
            await data_source.fetch_report(
                FetchRequest(
                    property_id=property_id or running.property_id, period=PERIOD
                ),
                FetchContext(),
            )
    finally:
        await data_source.aclose()
    return raised.value


def service_account_credentials() -> service_account.Credentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call,no-any-return]
        {
            "type": "service_account",
            "client_email": SA_EMAIL,
            "private_key": pem,
            "private_key_id": "1",
            "token_uri": "https://oauth2.example.invalid/token",
            "project_id": "example-project",
        }
    )


class TestConfigurationErrors:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_an_unregistered_custom_dimension_says_to_register_it(
        self, transport: str
    ) -> None:
        async with emulator(custom_dimensions=["page_variant"]) as running:
            error = await fetch_error(running, transport)

        assert (error.type, error.non_retryable) == (UNREGISTERED_DEFINITION, True)
        message = str(error)
        assert "customEvent:button_type" in message
        assert "'button_type'" in message
        assert "custom dimension" in message
        assert "Custom definitions" in message
        assert "no backfill" in message
        assert len(running.report_requests()) == 1

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_an_unregistered_custom_metric_says_metric(
        self, transport: str
    ) -> None:
        async with emulator(custom_metrics={}) as running:
            error = await fetch_error(running, transport)

        assert error.type == UNREGISTERED_DEFINITION
        assert "custom metric" in str(error)
        assert "customEvent:hover_duration" in str(error)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_permission_denied_names_the_property_and_says_where_to_grant(
        self, transport: str
    ) -> None:
        async with emulator() as running:
            error = await fetch_error(running, transport, property_id="555")

        assert (error.type, error.non_retryable) == (PERMISSION_DENIED, True)
        message = str(error)
        assert "property 555" in message
        assert "identity unknown" in message
        assert "Admin > Property access management" in message

    async def test_permission_denied_names_the_service_account(self) -> None:
        async with emulator() as running:
            kwargs = running.client_kwargs("grpc_asyncio")
            del kwargs["credentials"]
            data_source = GA4DataSource(
                credentials=service_account_credentials(), client_kwargs=kwargs
            )
            error = await fetch_error(
                running, "grpc", property_id="555", data_source=data_source
            )

        assert error.type == PERMISSION_DENIED
        assert f"add {SA_EMAIL} as a Viewer of property 555" in str(error)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_refused_credentials_are_not_retried(self, transport: str) -> None:
        async with emulator(faults=[Fault(status="UNAUTHENTICATED")]) as running:
            error = await fetch_error(running, transport)

        assert error.non_retryable
        if transport == "grpc":
            assert error.type == UNAUTHENTICATED
            assert "gcloud auth application-default login" in str(error)
        else:
            # The REST session answers a 401 by refreshing the credentials;
            # anonymous ones cannot be refreshed, which google-auth raises.
            assert error.type == CREDENTIALS_ERROR
            assert "could not be used" in str(error)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_another_bad_request_is_not_retried(self, transport: str) -> None:
        fault = Fault(status="INVALID_ARGUMENT", message="Limit must be positive.")
        async with emulator(faults=[fault]) as running:
            error = await fetch_error(running, transport)

        assert (error.type, error.non_retryable) == (INVALID_REQUEST, True)
        assert "Limit must be positive." in str(error)

    @pytest.mark.parametrize(
        ("property_id", "kind"),
        [("G-JHSVNWL6QH", "measurement ID"), ("UA-12345-1", "Universal Analytics")],
    )
    async def test_a_tag_id_is_refused_before_any_request(
        self, property_id: str, kind: str
    ) -> None:
        async with emulator() as running:
            error = await fetch_error(running, "grpc", property_id=property_id)

        assert (error.type, error.non_retryable) == (INVALID_PROPERTY, True)
        assert kind in str(error)
        assert "Admin > Property settings" in str(error)
        assert running.requests == ()

    @pytest.mark.parametrize("property_id", ["G-JHSVNWL6QH", "UA-1-1", "abc", ""])
    def test_the_source_refuses_a_tag_id_at_construction(
        self, property_id: str
    ) -> None:
        with pytest.raises(ValueError, match="numeric property ID"):
            GA4DataSource(property_id)

    def test_a_properties_prefix_is_accepted(self) -> None:
        GA4DataSource("properties/123456789")

    async def test_a_source_pinned_to_a_property_refuses_another(self) -> None:
        async with emulator() as running:
            pinned = source(running, "grpc", property_id=running.property_id)
            error = await fetch_error(
                running, "grpc", property_id="777", data_source=pinned
            )

        assert (error.type, error.non_retryable) == (INVALID_PROPERTY, True)
        assert running.requests == ()


class TestRetryableErrors:
    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_concurrent_requests_quota_retries_after_half_a_minute(
        self, transport: str
    ) -> None:
        fault = Fault.quota_exhausted("concurrent_requests")
        async with emulator(faults=[fault]) as running:
            error = await fetch_error(running, transport)

        assert (error.type, error.non_retryable) == (QUOTA_EXHAUSTED, False)
        assert error.next_retry_delay == datetime.timedelta(seconds=30)
        assert "concurrent requests" in str(error)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    @pytest.mark.parametrize("kind", ["tokens_per_hour", "project_tokens_per_hour"])
    async def test_an_hourly_quota_retries_when_it_refills(
        self, transport: str, kind: Any
    ) -> None:
        async with emulator(faults=[Fault.quota_exhausted(kind)]) as running:
            error = await fetch_error(running, transport)

        assert (error.type, error.non_retryable) == (QUOTA_EXHAUSTED, False)
        assert error.next_retry_delay is not None
        assert (
            datetime.timedelta(minutes=5)
            <= error.next_retry_delay
            <= datetime.timedelta(hours=1)
        )

    @pytest.mark.parametrize("transport", TRANSPORTS)
    async def test_a_spent_daily_quota_is_a_quota_error(self, transport: str) -> None:
        async with emulator(
            faults=[Fault.quota_exhausted("tokens_per_day")]
        ) as running:
            error = await fetch_error(running, transport)

        assert error.type == QUOTA_EXHAUSTED
        assert "per day" in str(error)

    @pytest.mark.parametrize("transport", TRANSPORTS)
    @pytest.mark.parametrize(
        "status", ["INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN"]
    )
    async def test_server_errors_are_retried(self, transport: str, status: Any) -> None:
        async with emulator(faults=[Fault(status=status)]) as running:
            error = await fetch_error(running, transport)

        assert (error.type, error.non_retryable) == (SERVER_ERROR, False)
        assert error.next_retry_delay is None
        assert "resumes from its last completed page" in str(error)

    async def test_the_real_quota_running_dry_is_retryable(self) -> None:
        from ga4_button_workflows.testing import QuotaLimits

        async with emulator(quota=QuotaLimits(tokens_per_hour=0)) as running:
            error = await fetch_error(running, "grpc")

        assert error.type == QUOTA_EXHAUSTED
        assert error.next_retry_delay is not None


def at(hour: int, minute: int, zone: str = "UTC") -> datetime.datetime:
    from zoneinfo import ZoneInfo

    return datetime.datetime(2024, 5, 6, hour, minute, tzinfo=ZoneInfo(zone))


class TestQuotaDelays:
    def test_concurrent_requests_wait_thirty_seconds(self) -> None:
        delay = quota_retry_delay("Exhausted concurrent requests quota.", at(10, 0))
        assert delay == datetime.timedelta(seconds=30)

    def test_an_hourly_quota_waits_for_the_top_of_the_hour(self) -> None:
        delay = quota_retry_delay("Exhausted property tokens per hour.", at(10, 20))
        assert delay == datetime.timedelta(minutes=41)

    def test_an_hourly_quota_waits_at_least_five_minutes(self) -> None:
        delay = quota_retry_delay(
            "Exhausted property tokens for a project per hour.", at(10, 58)
        )
        assert delay == datetime.timedelta(minutes=5)

    def test_a_daily_quota_near_midnight_pacific_is_retried_after_it(self) -> None:
        delay = quota_retry_delay(
            "Exhausted property tokens per day.", at(23, 30, "America/Los_Angeles")
        )
        assert delay == datetime.timedelta(minutes=31)

    def test_a_daily_quota_hours_before_the_refill_is_not_retried(self) -> None:
        now = at(9, 0, "America/Los_Angeles")
        assert quota_retry_delay("Exhausted property tokens per day.", now) is None
        error = classify_ga4_error(
            api_exceptions.ResourceExhausted("Exhausted property tokens per day."),
            property_id="123",
            now=now,
        )
        assert error is not None
        assert (error.type, error.non_retryable) == (QUOTA_EXHAUSTED, True)
        assert "15 h 0 min" in str(error)
        assert "midnight Pacific Time" in str(error)

    def test_an_unknown_quota_message_waits_a_minute(self) -> None:
        delay = quota_retry_delay("Quota exceeded.", at(10, 0))
        assert delay == datetime.timedelta(minutes=1)

    @given(
        st.datetimes(
            min_value=datetime.datetime(2000, 1, 1),  # noqa: DTZ001 - naive bounds
            max_value=datetime.datetime(2100, 1, 1),  # noqa: DTZ001 - as hypothesis needs
            timezones=st.just(datetime.timezone.utc),
        ),
        st.sampled_from(
            [
                "Exhausted concurrent requests quota.",
                "Exhausted property tokens per hour.",
                "Exhausted property tokens for a project per hour.",
                "Exhausted property server errors per project per hour.",
                "Exhausted property tokens per day.",
                "Something else.",
            ]
        ),
    )
    def test_every_delay_fits_the_fetch_retry_window(
        self, now: datetime.datetime, message: str
    ) -> None:
        delay = quota_retry_delay(message, now)
        if delay is None:
            assert "per day" in message
        else:
            assert datetime.timedelta(seconds=1) <= delay <= datetime.timedelta(hours=1)


class TestClassification:
    @pytest.mark.parametrize(
        ("error", "expected_type", "retryable"),
        [
            (api_exceptions.TooManyRequests(CONCURRENT), QUOTA_EXHAUSTED, True),
            (api_exceptions.ResourceExhausted(CONCURRENT), QUOTA_EXHAUSTED, True),
            (api_exceptions.Forbidden("denied"), PERMISSION_DENIED, False),
            (api_exceptions.PermissionDenied("denied"), PERMISSION_DENIED, False),
            (api_exceptions.BadRequest(NOT_VALID), UNREGISTERED_DEFINITION, False),
            (api_exceptions.InvalidArgument(NOT_VALID), UNREGISTERED_DEFINITION, False),
            (api_exceptions.InvalidArgument("Bad limit."), INVALID_REQUEST, False),
            (api_exceptions.NotFound("no such property"), INVALID_PROPERTY, False),
            (api_exceptions.Unauthorized("bad token"), UNAUTHENTICATED, False),
            (api_exceptions.InternalServerError("boom"), SERVER_ERROR, True),
            (api_exceptions.ServiceUnavailable("down"), SERVER_ERROR, True),
            (api_exceptions.GatewayTimeout("slow"), SERVER_ERROR, True),
            (api_exceptions.DeadlineExceeded("slow"), SERVER_ERROR, True),
            (api_exceptions.Cancelled("cancelled"), SERVER_ERROR, True),
            (api_exceptions.MethodNotImplemented("no"), INVALID_REQUEST, False),
            (auth_exceptions.DefaultCredentialsError("none"), CREDENTIALS_ERROR, False),
            (auth_exceptions.RefreshError("invalid_grant"), CREDENTIALS_ERROR, False),
        ],
    )
    def test_each_class_of_failure(
        self, error: Exception, expected_type: str, retryable: bool
    ) -> None:
        classified = classify_ga4_error(error, property_id="123")

        assert classified is not None
        assert classified.type == expected_type
        assert classified.non_retryable is not retryable

    def test_a_foreign_error_is_left_alone(self) -> None:
        assert classify_ga4_error(KeyError("x"), property_id="1") is None

    def test_an_application_error_passes_through(self) -> None:
        error = ApplicationError("already classified", type="X")
        assert classify_ga4_error(error, property_id="1") is error

    def test_a_standard_field_that_is_not_valid_names_the_schema(self) -> None:
        classified = classify_ga4_error(
            api_exceptions.InvalidArgument("Field linkUrlx is not a valid dimension."),
            property_id="123",
        )
        assert classified is not None
        assert "no dimension linkUrlx" in str(classified)


class TestIdentity:
    def test_a_service_account_is_named_by_its_email(self) -> None:
        assert credential_identity(service_account_credentials()) == SA_EMAIL

    def test_compute_engine_default_is_said_in_words(self) -> None:
        class ComputeEngine:
            service_account_email = "default"

        assert credential_identity(ComputeEngine()) == (
            "the Compute Engine default service account"
        )

    def test_a_user_account_is_named(self) -> None:
        class User:
            account = "analyst@example.com"

        assert credential_identity(User()) == "analyst@example.com"

    @pytest.mark.parametrize("credentials", [None, object()])
    def test_unknown_credentials_have_no_identity(self, credentials: Any) -> None:
        assert credential_identity(credentials) is None
