"""A notifier that e-mails the insights over SMTP, as plain text and HTML.

GA4 values are user-controlled text. The plain-text part carries them as they
are; the HTML part escapes every one of them with :func:`html.escape`, so a
button called ``<script>`` is shown, never run. Headers are built from the
property ID and period only, with line breaks removed, so no value can add a
header of its own.

The Message-ID is derived from the analysis ID and channel: a repeated
message (see "Known limitations" in the docs) has the same Message-ID, which
lets mail systems that deduplicate on it drop the repeat.

A change alert (:meth:`EmailNotifier.send_alert`) is a short plain-text
message; its subject names the property and the direction of the change, never
a GA4 value, and its Message-ID is derived from the analysis, the channel and
the alert key.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import html
import logging
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from temporalio.exceptions import ApplicationError

from ga4_button_workflows.models import ButtonInsights, ButtonMetrics
from ga4_button_workflows.render import describe_button, render_text
from ga4_button_workflows.trends import ChangeAlert

__all__ = [
    "EMAIL_REJECTED",
    "EMAIL_UNAVAILABLE",
    "EmailNotifier",
    "build_alert_email",
    "build_email",
]

logger = logging.getLogger(__name__)

EMAIL_REJECTED = "EmailRejected"
"""Error type when the server refuses the login, sender or recipients: not retried."""
EMAIL_UNAVAILABLE = "EmailServerUnavailable"
"""Error type when the server is unreachable or answers with a 4xx code: retried."""

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_SUBJECT_CHARS = 200
_TABLE_ROWS = 20


class EmailNotifier:
    """Sends the insights as an e-mail with plain-text and HTML parts.

    Args:
        host: The SMTP server.
        sender: The From address, e.g. ``"Button analytics <ga4@example.com>"``.
        recipients: One address or several.
        port: The SMTP port; 587 (submission) by default.
        starttls: Upgrade the connection with STARTTLS before anything else;
            on by default for port 587, off otherwise.
        username: Log in with this user; no login when None.
        password: The password for ``username``.
        channel: The delivery channel name.
        subject_prefix: The start of the subject line.
        max_findings: How many recommendations the message lists.
        timeout_s: Timeout of each SMTP operation, in seconds.
        ssl_context: TLS settings for STARTTLS; the system's trusted
            certificates by default.

    Raises:
        ValueError: No recipients, a line break in an address, a password
            without a user, or a login without STARTTLS (the password would
            cross the network in clear text).
    """

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        recipients: str | Sequence[str],
        port: int = 587,
        starttls: bool | None = None,
        username: str | None = None,
        password: str | None = None,
        channel: str = "email",
        subject_prefix: str = "GA4 button analysis",
        max_findings: int = 10,
        timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        addresses = [recipients] if isinstance(recipients, str) else list(recipients)
        if not addresses:
            raise ValueError("recipients is empty; give at least one e-mail address")
        for value in (host, sender, *addresses, subject_prefix):
            if _LINE_BREAKS.search(value):
                raise ValueError(
                    f"{value!r} contains a line break or control character, which "
                    "could inject e-mail headers; remove it"
                )
        use_starttls = port == 587 if starttls is None else starttls
        if password is not None and username is None:
            raise ValueError("password given without username; pass both or neither")
        if username is not None and not use_starttls:
            raise ValueError(
                "refusing to log in to the SMTP server without STARTTLS: the "
                "password would travel in clear text; pass starttls=True"
            )
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = addresses
        self._starttls = use_starttls
        self._username = username
        self._password = password
        self._channel = channel
        self._subject_prefix = subject_prefix
        self._max_findings = max_findings
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"EmailNotifier(host={self._host!r}, port={self._port}, "
            f"channel={self._channel!r})"
        )

    @property
    def channel(self) -> str:
        """See :class:`~ga4_button_workflows.ports.Notifier`."""
        return self._channel

    async def send(self, insights: ButtonInsights, *, analysis_id: str) -> None:
        """Send the message; raise a classified ``ApplicationError`` on failure."""
        message = build_email(
            insights,
            analysis_id=analysis_id,
            sender=self._sender,
            recipients=self._recipients,
            subject_prefix=self._subject_prefix,
            max_findings=self._max_findings,
            message_key=f"{self._channel}\x00{analysis_id}",
        )
        await asyncio.to_thread(self._deliver, message)
        logger.info("E-mailed analysis %s to %s", analysis_id, self._channel)

    async def send_alert(self, alert: ChangeAlert) -> None:
        """Send one change alert; raise a classified ``ApplicationError``."""
        message = build_alert_email(
            alert,
            sender=self._sender,
            recipients=self._recipients,
            subject_prefix=self._subject_prefix,
            message_key=f"{self._channel}\x00{alert.analysis_id}\x00{alert.key}",
        )
        await asyncio.to_thread(self._deliver, message)
        logger.info(
            "E-mailed a change alert of analysis %s to %s",
            alert.analysis_id,
            self._channel,
        )

    def _deliver(self, message: EmailMessage) -> None:
        import smtplib  # noqa: PLC0415 - kept out of processes that never send mail

        server = f"the SMTP server {self._host}:{self._port}"
        channel = self._channel
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(
                        context=self._ssl_context or ssl.create_default_context()
                    )
                    smtp.ehlo()
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(
                    message, from_addr=self._sender, to_addrs=self._recipients
                )
        except smtplib.SMTPNotSupportedError as error:
            raise _rejected(f"{channel}: {server} does not support {error}") from None
        except smtplib.SMTPRecipientsRefused as error:
            replies = list(error.recipients.values())
            raise _classified(
                f"{channel}: {server} refused every recipient "
                f"({_reply(*replies[0]) if replies else 'no reply'})",
                permanent=all(code >= 500 for code, _ in replies),
            ) from None
        except smtplib.SMTPResponseException as error:
            raise _classified(
                f"{channel}: {server} answered "
                f"{_reply(error.smtp_code, error.smtp_error)}",
                permanent=error.smtp_code >= 500,
            ) from None
        except smtplib.SMTPServerDisconnected as error:
            raise ApplicationError(
                f"{channel}: {server} closed the connection ({error})",
                type=EMAIL_UNAVAILABLE,
            ) from None
        except smtplib.SMTPException as error:
            raise _rejected(f"{channel}: {server}: {error}") from None
        except ssl.SSLCertVerificationError as error:
            raise _rejected(
                f"{channel}: {server}'s TLS certificate was not trusted "
                f"({error.verify_message}); pass an ssl_context that trusts it"
            ) from None
        except OSError as error:
            raise ApplicationError(
                f"{channel}: could not reach {server} "
                f"({type(error).__name__}: {error})",
                type=EMAIL_UNAVAILABLE,
            ) from None
        if refused:
            logger.warning(
                "%s: %d of %d recipients were refused",
                self._channel,
                len(refused),
                len(self._recipients),
            )


def build_email(
    insights: ButtonInsights,
    *,
    analysis_id: str,
    sender: str,
    recipients: Sequence[str],
    subject_prefix: str = "GA4 button analysis",
    max_findings: int = 10,
    message_key: str | None = None,
) -> EmailMessage:
    """Return the e-mail for ``insights``: plain text plus an escaped HTML part.

    Args:
        insights: The insights document.
        analysis_id: The analysis, named in the body.
        sender: The From address.
        recipients: The To addresses.
        subject_prefix: The start of the subject line.
        max_findings: How many recommendations to list.
        message_key: Makes the Message-ID stable: the same key gives the same
            ID. A random ID when None.
    """
    period = str(insights.period) if insights.period else "unknown period"
    subject = f"{subject_prefix}: property {insights.property_id}, {period}"

    message = EmailMessage()
    message["Subject"] = _header_safe(subject)[:_SUBJECT_CHARS]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = _message_id(sender, message_key)
    message.set_content(_plain_text(insights, analysis_id, period))
    message.add_alternative(
        _html(insights, analysis_id, period, max_findings), subtype="html"
    )
    return message


def build_alert_email(
    alert: ChangeAlert,
    *,
    sender: str,
    recipients: Sequence[str],
    subject_prefix: str = "GA4 button analysis",
    message_key: str | None = None,
) -> EmailMessage:
    """Return the plain-text e-mail of a change alert.

    Args:
        alert: The alert.
        sender: The From address.
        recipients: The To addresses.
        subject_prefix: The start of the subject line.
        message_key: Makes the Message-ID stable, as in :func:`build_email`.
    """
    subject = (
        f"{subject_prefix}: CTR {alert.finding.direction.value} alert, "
        f"property {alert.property_id}"
    )
    message = EmailMessage()
    message["Subject"] = _header_safe(subject)[:_SUBJECT_CHARS]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = _message_id(sender, message_key)
    message.set_content(f"{alert.text}\n")
    return message


def _plain_text(insights: ButtonInsights, analysis_id: str, period: str) -> str:
    heading = (
        f"Button analysis {analysis_id}\nProperty {insights.property_id}, {period}"
    )
    return f"{heading}\n\n{render_text(insights)}\n"


def _html(
    insights: ButtonInsights, analysis_id: str, period: str, max_findings: int
) -> str:
    esc = html.escape
    by_label = {metrics.label: metrics for metrics in insights.buttons}
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        f"<h1>Button analysis: property {esc(insights.property_id)}</h1>",
        f"<p>Period {esc(period)} &middot; "
        f"analysis <code>{esc(analysis_id)}</code></p>",
        "<table>",
        _headline_row("Best button", insights.best_performing_button, by_label),
        _headline_row("Worst button", insights.worst_performing_button, by_label),
        _variant_row(insights),
        "</table>",
    ]
    if insights.selection_note:
        parts.append(f"<p><em>{esc(insights.selection_note)}</em></p>")
    findings = _findings_html(insights, max_findings)
    if findings:
        parts.extend(["<h2>Top findings</h2>", "<ul>", *findings, "</ul>"])
    if insights.caveats:
        parts.extend(["<h2>Caveats</h2>", "<ul>"])
        parts.extend(f"<li>{esc(caveat)}</li>" for caveat in insights.caveats)
        parts.append("</ul>")
    if insights.buttons:
        parts.extend(_buttons_table(insights.buttons))
    parts.append("</body></html>")
    return "\n".join(parts)


def _headline_row(
    heading: str, label: str | None, by_label: dict[str, ButtonMetrics]
) -> str:
    if label is None:
        return f"<tr><th>{heading}</th><td>&ndash;</td></tr>"
    metrics = by_label.get(label)
    numbers = f"<br><small>{_describe(metrics)}</small>" if metrics else ""
    return f"<tr><th>{heading}</th><td>{html.escape(label)}{numbers}</td></tr>"


def _variant_row(insights: ButtonInsights) -> str:
    variant = insights.most_engaging_variant
    if variant is None:
        return "<tr><th>Most engaging variant</th><td>&ndash;</td></tr>"
    probability = insights.most_engaging_variant_probability
    chance = (
        f"<br><small>{probability:.0%} chance of the highest CTR</small>"
        if probability is not None
        else ""
    )
    cell = f"{html.escape(variant)}{chance}"
    return f"<tr><th>Most engaging variant</th><td>{cell}</td></tr>"


def _findings_html(insights: ButtonInsights, limit: int) -> list[str]:
    if not insights.recommendation_details:
        return [
            f"<li>{html.escape(text)}</li>" for text in insights.recommendations[:limit]
        ]
    items = []
    for detail in insights.recommendation_details[:limit]:
        evidence = ", ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in detail.evidence.items()
            if value is not None
        )
        small = f"<br><small>{html.escape(evidence)}</small>" if evidence else ""
        items.append(f"<li>{html.escape(detail.text)}{small}</li>")
    return items


def _buttons_table(buttons: Sequence[ButtonMetrics]) -> list[str]:
    rows = [
        "<h2>Buttons</h2>",
        "<table>",
        "<tr><th>Button</th><th>Variant</th><th>Numbers</th></tr>",
    ]
    ranked = sorted(buttons, key=lambda metrics: -(metrics.exposed_users or 0))
    rows.extend(
        f"<tr><td>{html.escape(metrics.button)}</td>"
        f"<td>{html.escape(metrics.variant)}</td><td>{_describe(metrics)}</td></tr>"
        for metrics in ranked[:_TABLE_ROWS]
    )
    rows.append("</table>")
    if len(buttons) > _TABLE_ROWS:
        rows.append(f"<p>and {len(buttons) - _TABLE_ROWS} more.</p>")
    return rows


def _header_safe(value: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def _message_id(sender: str, key: str | None) -> str:
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "ga4-button-workflows.invalid"
    if key is None:
        return email.utils.make_msgid(domain=domain)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"<ga4-buttons.{digest}@{domain}>"


def _reply(code: int, text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return " ".join(f"{code} {decoded}".split())[:200]


def _classified(message: str, *, permanent: bool) -> ApplicationError:
    if permanent:
        return _rejected(message)
    return ApplicationError(message, type=EMAIL_UNAVAILABLE)


def _rejected(message: str) -> ApplicationError:
    return ApplicationError(
        f"{message}; check the e-mail notifier's settings, retrying will not help",
        type=EMAIL_REJECTED,
        non_retryable=True,
    )


def _describe(metrics: ButtonMetrics) -> str:
    return describe_button(metrics, dash="&ndash;", separator=" &middot; ")
