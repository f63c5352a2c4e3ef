"""Where events go besides the store: MQTT, webhooks, and a broadcast ring for Server-Sent Events.

I/O adapters with no Ray in them: the EventSink actor (actors/event_sink.py) owns one `Outputs` and calls
`deliver` after each stored batch.
Nothing here blocks the caller: MQTT buffers in paho's bounded queue (its network thread sends), each
webhook target has its own thread and bounded queue, the broadcast is an in-memory ring.
Plates: MQTT never carries them, webhooks only to targets with `plates: true` (HTTPS); the broadcast keeps them
for the API, which shows them to `enforcement` tokens only.
"""

from __future__ import annotations

import os

from matakota.config import OutputsConfig
from matakota.core.messages import StatusChange
from matakota.outputs.broadcast import Broadcast
from matakota.outputs.mqtt import MqttPublisher
from matakota.outputs.webhooks import Webhooks


class Outputs:
    def __init__(self, config: OutputsConfig, environ=None):
        environ = os.environ if environ is None else environ
        self.config = config
        self.broadcast = Broadcast(config.sse_buffer)
        self.mqtt = None
        if config.mqtt.enabled:
            password = environ.get(config.mqtt.password_env) if config.mqtt.password_env else None
            self.mqtt = MqttPublisher(config.mqtt, password)
        self.webhooks = Webhooks(config.webhooks, environ)

    def deliver(self, events: list[dict]) -> None:
        """Fan events out; returns at once (delivery continues on the outputs' own threads)."""
        if not events:
            return
        self.broadcast.publish(events)
        for event in events:
            if self.mqtt is not None:
                self.mqtt.publish_event(event)
            self.webhooks.submit(event)

    def status(self, change: StatusChange) -> None:
        if self.mqtt is not None:
            self.mqtt.publish_status(change)

    def stats(self) -> dict:
        return {"mqtt": self.mqtt.stats() if self.mqtt else None, "webhooks": self.webhooks.stats(),
                "sse": {"last_seq": self.broadcast.last_seq}}

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.close()
        self.webhooks.close()


__all__ = ["Broadcast", "MqttPublisher", "Outputs", "Webhooks"]
