"""EmailNotifier against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from ga4_button_workflows.models import ButtonInsights
from ga4_button_workflows.notifiers import EmailNotifier

SENDER = "Button analytics <ga4@example.com>"
RECIPIENT = "growth@example.com"


def plain_notifier(server: Any, **options: Any) -> EmailNotifier:
    return EmailNotifier(
        host=server.host,
        port=server.port,
        sender=SENDER,
        recipients=[RECIPIENT],
        starttls=False,
        **options,
    )


class TestMessage:
    async def test_html_is_escaped_and_plain_text_is_intact(
        self, smtp_server: Any, insights: ButtonInsights, hostile_button: str
    ) -> None:
        await plain_notifier(smtp_server).send(insights, analysis_id="analysis-1")

        (mail,) = smtp_server.handler.received
        html_part = mail.message.get_body(("html",)).get_content()
        text_part = mail.message.get_body(("plain",)).get_content()
        assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in html_part
        assert "<script>" not in html_part
        assert "<!channel>" not in html_part
        assert hostile_button in text_part
        assert "CTR 7.0% (95% CI 5.7%&ndash;8.6%)" in html_part

    async def test_subject_and_envelope_name_the_property_and_period(
        self, smtp_server: Any, insights: ButtonInsights
    ) -> None:
        await plain_notifier(smtp_server).send(insights, analysis_id="analysis-1")

        (mail,) = smtp_server.handler.received
        assert mail.message["Subject"] == (
            "GA4 button analysis: property 123456789, 2024-05-01..2024-05-07"
        )
        assert mail.recipients == [RECIPIENT]
        assert mail.sender == "ga4@example.com"
        assert mail.message["From"] == SENDER
        assert mail.message["Message-ID"].endswith("@example.com>")

    async def test_values_with_line_breaks_cannot_add_headers(
        self, smtp_server: Any, insights: ButtonInsights, evolve: Any
    ) -> None:
        sneaky = evolve(insights, property_id="123\r\nBcc: victim@example.org")

        await plain_notifier(smtp_server).send(sneaky, analysis_id="analysis-1")

        (mail,) = smtp_server.handler.received
        assert mail.message["Bcc"] is None
        assert mail.recipients == [RECIPIENT]
        assert "\n" not in mail.message["Subject"]

    async def test_a_repeated_message_keeps_its_message_id(
        self, smtp_server: Any, insights: ButtonInsights
    ) -> None:
        notifier = plain_notifier(smtp_server)

        await notifier.send(insights, analysis_id="analysis-1")
        await notifier.send(insights, analysis_id="analysis-1")
        await notifier.send(insights, analysis_id="analysis-2")

        ids = [mail.message["Message-ID"] for mail in smtp_server.handler.received]
        assert ids[0] == ids[1] != ids[2]


class TestTransport:
    async def test_starttls_and_login_reach_a_submission_server(
        self,
        smtp_tls_server: Any,
        client_tls_context: ssl.SSLContext,
        insights: ButtonInsights,
    ) -> None:
        notifier = EmailNotifier(
            host=smtp_tls_server.host,
            port=smtp_tls_server.port,
            sender=SENDER,
            recipients=RECIPIENT,
            starttls=True,
            username="reporter",
            password="correct horse battery staple",
            ssl_context=client_tls_context,
        )

        await notifier.send(insights, analysis_id="analysis-1")

        assert len(smtp_tls_server.handler.received) == 1

    async def test_a_wrong_password_is_not_retried(
        self,
        smtp_tls_server: Any,
        client_tls_context: ssl.SSLContext,
        insights: ButtonInsights,
    ) -> None:
        notifier = EmailNotifier(
            host=smtp_tls_server.host,
            port=smtp_tls_server.port,
            sender=SENDER,
            recipients=RECIPIENT,
            username="reporter",
            password="wrong",
            starttls=True,
            ssl_context=client_tls_context,
        )

        with pytest.raises(ApplicationError) as caught:
            await notifier.send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is True
        assert "535" in str(caught.value)
        assert "wrong" not in str(caught.value)

    async def test_an_untrusted_certificate_is_not_retried(
        self, smtp_tls_server: Any, insights: ButtonInsights
    ) -> None:
        notifier = EmailNotifier(
            host=smtp_tls_server.host,
            port=smtp_tls_server.port,
            sender=SENDER,
            recipients=RECIPIENT,
            starttls=True,
        )

        with pytest.raises(ApplicationError, match="not trusted") as caught:
            await notifier.send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is True

    @pytest.mark.parametrize(
        ("reply", "retryable"),
        [("550 5.1.1 no such user", False), ("451 4.3.0 try again later", True)],
    )
    async def test_refused_recipients_are_classified_by_reply_code(
        self,
        smtp_server: Any,
        insights: ButtonInsights,
        reply: str,
        *,
        retryable: bool,
    ) -> None:
        smtp_server.handler.rcpt_reply = reply

        with pytest.raises(ApplicationError) as caught:
            await plain_notifier(smtp_server).send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is not retryable
        assert reply[:3] in str(caught.value)

    async def test_an_unreachable_server_is_retried(
        self, closed_port: int, insights: ButtonInsights
    ) -> None:
        notifier = EmailNotifier(
            host="127.0.0.1",
            port=closed_port,
            sender=SENDER,
            recipients=RECIPIENT,
            starttls=False,
        )

        with pytest.raises(ApplicationError, match="could not reach") as caught:
            await notifier.send(insights, analysis_id="analysis-1")

        assert caught.value.non_retryable is False


class TestConfiguration:
    def test_starttls_is_on_by_default_for_port_587_only(self) -> None:
        submission = EmailNotifier(host="smtp.example", sender=SENDER, recipients="a@b")
        relay = EmailNotifier(
            host="smtp.example", port=25, sender=SENDER, recipients="a@b"
        )

        assert submission._starttls is True
        assert relay._starttls is False

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"recipients": []}, "recipients is empty"),
            ({"recipients": ["a@b\r\nBcc: c@d"]}, "line break"),
            ({"sender": "x@y\nBcc: c@d"}, "line break"),
            ({"port": 25, "username": "u", "password": "p"}, "clear text"),
            ({"password": "p"}, "without username"),
        ],
    )
    def test_unsafe_settings_are_refused(
        self, options: dict[str, Any], message: str
    ) -> None:
        settings: dict[str, Any] = {
            "host": "smtp.example",
            "sender": SENDER,
            "recipients": ["a@b"],
            **options,
        }

        with pytest.raises(ValueError, match=message):
            EmailNotifier(**settings)

    def test_the_repr_shows_no_password(self) -> None:
        notifier = EmailNotifier(
            host="smtp.example",
            sender=SENDER,
            recipients="a@b",
            username="u",
            password="hunter2",
        )

        assert "hunter2" not in repr(notifier)
