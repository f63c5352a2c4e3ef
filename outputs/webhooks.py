"""Events POSTed to HTTP webhooks: one worker thread and bounded queue per target, HMAC-signed bodies,
retries with capped exponential backoff (full jitter), then a dead letter.

Each request: `POST url`, body = the event JSON (compact, UTF-8), headers
`X-Matakota-Signature: sha256=<hex HMAC-SHA256 of the body with the target's secret>`,
`X-Matakota-Event: <type>`, `X-Matakota-Delivery: <event id>` (stable: receivers dedupe on it).
Retried: connection errors, timeouts, 408, 429 and 5xx. Any other non-2xx is final (dead letter).
A slow or dead target only fills its own queue; when full, new events for it are dropped and counted.
Plates (core/events.py `PLATE_KEYS`) are left out of the body unless the target says `plates: true` (HTTPS only).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import threading
from collections import deque

import httpx

from matakota.config import WebhookConfig
from matakota.core.backoff import Backoff
from matakota.core.events import without_plate
from matakota.core.redact import redact_url

log = logging.getLogger("matakota.outputs.webhooks")
RETRY_STATUS = {408, 429}
DEAD_LETTERS_KEPT = 100


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver does: constant-time comparison of the signature header."""
    return hmac.compare_digest(sign(secret, body), header or "")


class WebhookTarget:
    def __init__(self, config: WebhookConfig, secret: bytes | None = None):
        self.config = config
        self.secret = secret
        self.counters = {"delivered": 0, "retried": 0, "dropped": 0, "dead_lettered": 0}
        self.dead_letters: deque[dict] = deque(maxlen=DEAD_LETTERS_KEPT)  # {id, reason}: for inspection
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize=config.queue_size)
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name=f"webhook-{redact_url(config.url)}", daemon=True)
        self._thread.start()

    def submit(self, event: dict) -> bool:
        """Queue an event for delivery; never blocks. False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.counters["dropped"] += 1
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            event = self._queue.get()
            if event is None:
                return
            self._deliver(event)

    def _deliver(self, event: dict) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Matakota-Event": str(event.get("type", "")),
                   "X-Matakota-Delivery": str(event.get("id", ""))}
        if self.secret is not None:
            headers["X-Matakota-Signature"] = sign(self.secret, body)
        backoff = Backoff(self.config.backoff_base_s, max(self.config.backoff_cap_s, self.config.backoff_base_s))
        reason = ""
        for attempt in range(1, self.config.max_attempts + 1):
            if attempt > 1:
                self.counters["retried"] += 1
                if self._stop.wait(backoff.next_delay()):
                    return
            try:
                response = self._client.post(self.config.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                reason = type(error).__name__
                continue
            if 200 <= response.status_code < 300:
                self.counters["delivered"] += 1
                return
            reason = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code not in RETRY_STATUS:
                break  # the receiver refuses it: retrying will not help
        self.counters["dead_lettered"] += 1
        self.dead_letters.append({"id": event.get("id"), "reason": reason})
        log.warning("webhook %s: event %s dead-lettered (%s)", redact_url(self.config.url), event.get("id"), reason)

    def stats(self) -> dict:
        return {**self.counters, "queued": self._queue.qsize()}

    def close(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        self._client.close()


class Webhooks:
    """All targets; `submit(event)` routes by event type, with plates only to targets that opted in."""

    def __init__(self, configs, environ=None):
        environ = os.environ if environ is None else environ
        self.targets = [WebhookTarget(c, c.secret(environ)) for c in configs]

    def submit(self, event: dict) -> None:
        for target in self.targets:
            if target.config.wants(str(event.get("type"))):
                target.submit(event if target.config.plates else without_plate(event))

    def stats(self) -> list[dict]:
        return [{"url": redact_url(t.config.url), **t.stats()} for t in self.targets]

    def close(self) -> None:
        for target in self.targets:
            target.close()
