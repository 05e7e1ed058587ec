"""Notifier fixtures: a real local SMTP server, a TLS certificate, sample insights.

HTTP notifiers post to pytest-httpserver's real local server (the ``httpserver``
fixture); e-mail goes to an aiosmtpd server on a free port of 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from _documents import HOSTILE_BUTTON, make_insights
from ga4_button_workflows.models import ButtonInsights

SMTP_USER = "reporter"
SMTP_PASSWORD = "correct horse battery staple"


@pytest.fixture
def insights() -> ButtonInsights:
    """The sample document with a hostile button name."""
    return make_insights()


@pytest.fixture
def hostile_button() -> str:
    """A button name that would ping the channel and run a script if unescaped."""
    return HOSTILE_BUTTON


@pytest.fixture
def evolve() -> Callable[..., Any]:
    """:func:`attrs.evolve`, to vary the sample document."""
    return attrs.evolve


# --- SMTP ----------------------------------------------------------------------------


@attrs.define
class ReceivedMail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@attrs.define
class MailHandler:
    """aiosmtpd handler that keeps messages and can refuse recipients."""

    received: list[ReceivedMail] = attrs.field(factory=list)
    rcpt_reply: str | None = None
    """Answer every RCPT TO with this (e.g. ``"550 no such user"``) when set."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            ReceivedMail(
                sender=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                message=message,
            )
        )
        return "250 Message accepted"


@attrs.define
class SMTPTestServer:
    """A running local SMTP server."""

    host: str
    port: int
    handler: MailHandler


def _authenticate(
    server: SMTP,
    session: Session,
    envelope: Envelope,
    mechanism: str,
    auth_data: Any,
) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    # handled=False: aiosmtpd then answers 535 itself instead of staying silent.
    return AuthResult(success=valid, handled=False)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def client_tls_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """A client context that trusts the test certificate and checks the host."""
    return ssl.create_default_context(cafile=str(tls_files[0]))


def _serve(handler: MailHandler, **smtp_parameters: Any) -> Iterator[SMTPTestServer]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    try:
        yield SMTPTestServer(host="127.0.0.1", port=port, handler=handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    """A plain SMTP server (no TLS, no login) on a free local port."""
    yield from _serve(MailHandler())


@pytest.fixture
def smtp_tls_server(tls_files: tuple[Path, Path]) -> Iterator[SMTPTestServer]:
    """An SMTP server that requires STARTTLS and a login, like a submission port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, tls_files))
    yield from _serve(
        MailHandler(),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def closed_port() -> int:
    """A local port with no server behind it."""
    return free_port()
