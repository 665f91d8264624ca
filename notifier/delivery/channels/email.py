"""Email over SMTP: a plain-text and an HTML part from ``templates/email/``, with a
one-click unsubscribe link per notification type (RFC 2369 ``List-Unsubscribe`` and
RFC 8058 ``List-Unsubscribe-Post``).

Connections are kept open between sends (up to a few idle ones, each for at most
``IDLE_SECONDS``), so a burst of emails does not pay a TLS handshake and a login
each. SMTP answers 4xx, a dropped connection or a timeout -> retry; 5xx -> failed.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifier import PROJECT_ROOT
from notifier.bootstrap import instance_secret_key
from notifier.core import unsubscribe_tokens as unsubscribe
from notifier.delivery.channels import is_configured
from notifier.delivery.channels.settings import text_setting
from notifier.model.channels import Message, Outcome, Target

log = logging.getLogger(__name__)

#: How each SMTP_SECURITY connects, and its usual port.
SECURITY_PORTS = {"starttls": 587, "ssl": 465, "plain": 25}

#: Idle connections kept for the next sends, and how long one may sit idle.
MAX_IDLE = 4
IDLE_SECONDS = 30.0


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def subject_of(message: Message) -> str:
    """The Subject: the title, or for a digest how many and the newest title."""
    notes = message.notifications
    if message.is_digest:
        return _one_line(f"{len(notes)} new notifications: {notes[-1]['title']}")
    return _one_line(notes[0]["title"])


def outcome_for_smtp_error(exc: Exception) -> Outcome:
    """How an SMTP failure counts: 4xx and lost connections are retried, 5xx fail."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (550, b"refused"))
        return _by_code(code, text, "recipient refused")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error, type(exc).__name__)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Outcome("failed", f"the server does not support it: {exc}")
    return Outcome("retry", f"SMTP server unreachable: {type(exc).__name__}: {exc}")


def _by_code(code: int, text: bytes | str, what: str) -> Outcome:
    said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    detail = f"{code} {_one_line(said)} ({what})"
    return Outcome("failed" if 500 <= code < 600 else "retry", detail)


class EmailAdapter:
    """Sends notification emails through one SMTP server."""

    kind = "email"

    def __init__(self, *, host: str, port: int = 0, security: str = "starttls",
                 username: str = "", password: str = "", sender: str, public_url: str,
                 secret_key: str, timeout: float = 10.0):
        if security not in SECURITY_PORTS:
            raise ValueError(f"NOTIFIER_SMTP_SECURITY must be one of "
                             f"{', '.join(SECURITY_PORTS)}, not {security!r}")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(f"NOTIFIER_SMTP_FROM must be an email address, not {sender!r}")
        self.host, self.security = host, security
        self.port = int(port) or SECURITY_PORTS[security]
        self.username, self.password = username, password
        self.sender = sender
        self.public_url = public_url.rstrip("/")
        self.secret_key = secret_key
        self.timeout = timeout
        self.templates = Environment(
            loader=FileSystemLoader(PROJECT_ROOT / "templates" / "email"),
            autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self._idle: list[tuple[float, smtplib.SMTP]] = []
        self._lock = threading.Lock()

    # -- the message --------------------------------------------------------
    def unsubscribe_url(self, user_id: str, types: list[str]) -> str:
        """The one-click link that stops emails of ``types`` to ``user_id``."""
        return f"{self.public_url}/unsubscribe/{unsubscribe.mint(self.secret_key, user_id, types)}"

    def build(self, message: Message, to: str) -> EmailMessage:
        """The email for ``message``: headers, a text part and an HTML part."""
        notes = list(reversed(message.notifications))  # newest first
        types = sorted({n["type"] for n in notes})
        unsubscribe_url = self.unsubscribe_url(message.user_id, types)
        subject = subject_of(message)
        context = {"notifications": notes, "subject": subject, "user_id": message.user_id,
                   "types": types, "unsubscribe_url": unsubscribe_url,
                   "inbox_url": f"{self.public_url}/inbox",
                   "settings_url": f"{self.public_url}/settings"}
        name = "digest" if message.is_digest else "notification"
        email = EmailMessage()
        email["Subject"] = subject
        email["From"] = self.sender
        email["To"] = to
        email["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2]
        email["Message-ID"] = make_msgid("notifier", domain=domain)
        email["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        email.set_content(self.templates.get_template(f"{name}.txt").render(context))
        email.add_alternative(self.templates.get_template(f"{name}.html").render(context),
                              subtype="html")
        return email

    # -- the connection -----------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _take(self) -> tuple[smtplib.SMTP, bool]:
        """An open connection (reused: True) or a new one."""
        now = time.monotonic()
        with self._lock:
            while self._idle:
                since, smtp = self._idle.pop()
                if now - since < IDLE_SECONDS:
                    return smtp, True
                _quit(smtp)
        return self._connect(), False

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append((time.monotonic(), smtp))
                return
        _quit(smtp)

    def send(self, message: Message, target: Target) -> Outcome:
        """Send the email to the target's address."""
        to = str(target.address.get("email") or "")
        try:
            Address(addr_spec=to)
            email = self.build(message, to)
        except (ValueError, IndexError, TypeError) as exc:
            return Outcome("failed", f"cannot make an email to {to!r}: {exc}")
        for attempt in (1, 2):
            smtp, reused = None, False
            try:
                smtp, reused = self._take()
                smtp.send_message(email)
            except smtplib.SMTPServerDisconnected as exc:
                _close(smtp)
                if attempt == 1 and reused:
                    continue  # the server closed an idle connection: open a new one
                return outcome_for_smtp_error(exc)
            except (smtplib.SMTPException, OSError) as exc:
                _close(smtp)
                return outcome_for_smtp_error(exc)
            self._give_back(smtp)
            return Outcome("accepted", str(email["Message-ID"]))
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, smtp in idle:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def from_config(config: Mapping[str, Any], instance_path: str) -> EmailAdapter | None:
    """The adapter, or None while ``NOTIFIER_SMTP_HOST`` is not set."""
    if not is_configured(config, "email"):
        return None
    host = text_setting(config, "SMTP_HOST")
    return EmailAdapter(
        host=host, port=int(config.get("SMTP_PORT") or 0),
        security=str(config.get("SMTP_SECURITY") or "starttls").lower(),
        username=text_setting(config, "SMTP_USERNAME"),
        password=text_setting(config, "SMTP_PASSWORD"),
        sender=text_setting(config, "SMTP_FROM"),
        public_url=str(config.get("PUBLIC_URL") or ""),
        secret_key=str(config.get("SECRET_KEY") or instance_secret_key(instance_path)),
        timeout=float(config.get("PROVIDER_TIMEOUT", 10)))
