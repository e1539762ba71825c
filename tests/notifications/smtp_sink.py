"""A counting SMTP sink on loopback (aiosmtpd), for the real-worker tests and bench/send_mail.py.

It accepts every message and counts deliveries per Message-ID and per recipient, so a test can
prove that each outbox row reached the server exactly once. ``stall_after(n)`` makes the n-th
and every later MAIL FROM wait until ``release()``: a way to freeze every sender at a known
point (between two messages, nothing half-delivered) before killing the worker.
"""

import asyncio
import re
import socket
import threading
from collections import Counter

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingHandler:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_message_id: Counter = Counter()
        self.by_recipient: Counter = Counter()
        self.messages = 0
        self.mails = 0
        self.stall_at: int | None = None
        self.stalled = threading.Event()
        self.waiting = 0
        self.released = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mails += 1
            stall = self.stall_at is not None and self.mails >= self.stall_at and not self.released.is_set()
            if stall:
                self.waiting += 1
                self.stalled.set()
        if stall:
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        head = envelope.original_content[:4096] if envelope.original_content else envelope.content[:4096]
        found = _MESSAGE_ID.search(head)
        with self.lock:
            self.messages += 1
            self.by_message_id[found.group(1).decode() if found else None] += 1
            for recipient in envelope.rcpt_tos:
                self.by_recipient[recipient.lower()] += 1
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self):
        self.handler = CountingHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True, data_size_limit=10_000_000
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.released.set()
        self.controller.stop()

    def stall_after(self, count: int) -> None:
        self.handler.stall_at = count

    def release(self) -> None:
        self.handler.released.set()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def messages(self) -> int:
        return self.handler.messages

    def duplicates(self) -> dict:
        with self.handler.lock:
            return {key: n for key, n in self.handler.by_message_id.items() if n > 1}

    def recipients(self) -> Counter:
        with self.handler.lock:
            return Counter(self.handler.by_recipient)
