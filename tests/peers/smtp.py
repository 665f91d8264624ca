"""A real SMTP server (aiosmtpd) that keeps what it receives: plain, STARTTLS or
implicit TLS, with or without AUTH, and scripted refusals."""

from __future__ import annotations

import collections
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .tls import TlsFiles


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    session: int
    login: str | None


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    #: Answers for the next RCPT TO commands, e.g. "550 5.1.1 No such user".
    rcpt_answers: collections.deque = field(default_factory=collections.deque)
    #: Answers for the next DATA commands, e.g. "451 4.3.0 Try again later".
    data_answers: collections.deque = field(default_factory=collections.deque)
    #: Every SMTP session (connection) that delivered, in order.
    sessions: list = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.rcpt_answers:
            return self.rcpt_answers.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.popleft()
        if not any(known is session for known in self.sessions):
            self.sessions.append(session)
        number = next(i for i, known in enumerate(self.sessions, 1) if known is session)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.received.append(Received(
            envelope.mail_from, list(envelope.rcpt_tos),
            message_from_bytes(envelope.original_content, policy=policy.default),
            number, login))
        return "250 2.0.0 Queued"


class SmtpServer:
    """``security``: plain, starttls (required before MAIL) or ssl (TLS from the start)."""

    def __init__(self, security: str = "plain", tls: TlsFiles | None = None,
                 users: dict[str, str] | None = None, idle_timeout: float = 300):
        self.handler = Handler()
        self.users = users or {}
        kwargs = {"timeout": idle_timeout}  # a session idle this long is closed by the server
        if security == "starttls":
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        elif security == "ssl":
            kwargs.update(ssl_context=tls.server_context())
        if users is not None:
            # aiosmtpd does not count implicit TLS as TLS for AUTH; the connection is
            # encrypted from the first byte there, so requiring it is moot.
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=security == "starttls")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="127.0.0.1", **kwargs)
        self.controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and \
                self.users.get(auth_data.login.decode()) == auth_data.password.decode():
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def stop(self) -> None:
        if self.controller._thread is not None:
            self.controller.stop()
