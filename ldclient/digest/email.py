"""Email over SMTP: one message per digest, plain text and HTML, grouped by owner."""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from .config import SMTPConfig
from .delivery import DeliveryError
from .markdown import by_owner, label, where


def message(
    items: Sequence[Mapping[str, Any]], sender: str, to: Sequence[str], digest_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"Flag health: {len(items)} new item{'s' if len(items) != 1 else ''}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = make_msgid("flag-health-" + digest_id)
    msg["X-Flag-Health-Digest"] = digest_id
    text = [f"{len(items)} new items from Flag health.", ""]
    parts = [f"<p>{len(items)} new items from Flag health.</p>"]
    for owner, group in by_owner(items):
        text += [f"{owner} ({len(group)})", "-" * min(60, len(owner) + 6)]
        parts.append(f"<h3>{html.escape(owner)} ({len(group)})</h3><ul>")
        for item in group:
            text += [
                f"* {label(item)}: {item.get('flag_key')} in {where(item)} ({item.get('time')})",
                f"  {item.get('summary')}",
                f"  Flag health: {item.get('link')}",
                f"  LaunchDarkly: {item.get('launchdarkly_link')}",
                "",
            ]
            parts.append(
                f"<li><b>{html.escape(label(item))}</b>: "
                f'<a href="{html.escape(str(item.get("link")))}">{html.escape(str(item.get("flag_key")))}</a> '
                f"in {html.escape(where(item))} <small>({html.escape(str(item.get('time')))})</small><br>"
                f"{html.escape(str(item.get('summary')))} · "
                f'<a href="{html.escape(str(item.get("launchdarkly_link")))}">LaunchDarkly</a></li>'
            )
        parts.append("</ul>")
    msg.set_content("\n".join(text))
    msg.add_alternative("<html><body>" + "".join(parts) + "</body></html>", subtype="html")
    return msg


class EmailSender:
    kind = "email"
    max_batch = 1000

    def __init__(self, name: str, to: Sequence[str], smtp: SMTPConfig, *, timeout_s: float = 10.0) -> None:
        self.name = name
        self.to = tuple(to)
        self._smtp = smtp
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"EmailSender({self.name!r})"

    def send(self, items: Sequence[Mapping[str, Any]], digest_id: str) -> None:
        cfg = self._smtp
        msg = message(items, cfg.sender, self.to, digest_id)
        try:
            server = (
                smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=self._timeout, context=ssl.create_default_context()
                )
                if cfg.ssl
                else smtplib.SMTP(cfg.host, cfg.port, timeout=self._timeout)
            )
            with server:
                if cfg.starttls:
                    server.starttls(context=ssl.create_default_context())
                if cfg.username and cfg.password:
                    server.login(cfg.username, cfg.password.reveal())
                server.send_message(msg)
        except smtplib.SMTPResponseException as exc:  # the server's text is not repeated: it may echo input
            raise DeliveryError(f"the SMTP server answered {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("the SMTP server refused every recipient") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"the SMTP server could not be reached ({type(exc).__name__})") from None
