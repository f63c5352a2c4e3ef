"""A test-side MQTT subscriber (paho) against the real broker."""

from __future__ import annotations

import json
import threading
import uuid

import paho.mqtt.client as mqtt


class Subscriber:
    """A paho client collecting (topic, body, retained) of everything under a topic filter."""

    def __init__(self, host: str, port: int, topic: str):
        self.messages: list[tuple[str, dict | str, bool]] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(10), "MQTT subscription not acknowledged"

    def _on_message(self, client, userdata, message) -> None:
        text = message.payload.decode()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        self.messages.append((message.topic, body, bool(message.retain)))

    def events(self, topic: str) -> list[dict]:
        return [body for t, body, _ in list(self.messages) if t == topic and isinstance(body, dict)]

    def clear_retained(self) -> None:
        """Leave nothing retained on the shared broker under this subscription."""
        for topic in {t for t, body, retained in list(self.messages) if retained or "/status/" in t or
                      t.endswith("/sink/online")}:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
