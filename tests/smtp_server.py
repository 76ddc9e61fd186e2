"""A small real SMTP server for the tests (RFC 5321 over a TCP socket, what smtplib speaks).

EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. ``fail_next`` makes
the next N messages fail at MAIL FROM with a 451 (a temporary error), as a busy server would; ``messages``
holds what was accepted, parsed, and ``logins`` the (user, password) pairs it was given.
"""

from __future__ import annotations

import base64
import socketserver
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


class _Handler(socketserver.StreamRequestHandler):
    server: SMTPServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def readline(self) -> str | None:
        raw = self.rfile.readline(65537)
        return None if not raw else raw.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP ready")
        sender: str | None = None
        rcpts: list[str] = []
        while (line := self.readline()) is not None:
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH":
                mech, _, initial = arg.partition(" ")
                if mech.upper() == "PLAIN":
                    if not initial:
                        self.reply("334 ")
                        initial = self.readline() or ""
                    parts = base64.b64decode(initial).split(b"\0")
                    user, password = parts[1].decode(), parts[2].decode()
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.readline() or "").decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.readline() or "").decode()
                self.server.logins.append((user, password))
                self.reply("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                with self.server.lock:
                    failing = self.server.fail_next > 0
                    if failing:
                        self.server.fail_next -= 1
                if failing:
                    self.reply("451 4.3.0 try again later")
                    continue
                sender, rcpts = arg.split(":", 1)[1].strip().split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines: list[bytes] = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if not raw or raw in (b".\r\n", b".\n"):
                        break
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                msg = message_from_bytes(b"".join(lines), policy=policy.default)
                with self.server.lock:
                    self.server.messages.append((sender, rcpts, msg))  # type: ignore[arg-type]
                self.reply("250 OK queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.messages: list[tuple[str | None, list[str], EmailMessage]] = []
        self.logins: list[tuple[str, str]] = []
        self.fail_next = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def __enter__(self) -> SMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()
