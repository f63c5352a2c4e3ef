"""Events and camera status to an MQTT broker (paho-mqtt, its own network thread).

Topic scheme (`prefix` is configurable, default `matakota`; site and camera ids never hold `/ + #`):

    {prefix}/events/{site}/{camera}/{type}   one message per event, QoS 1 (configurable), not retained.
                                             Payload: the event JSON (`id` is stable: dedupe on it),
                                             never with a plate (anyone who may subscribe reads it).
    {prefix}/status/{site}/{camera}          retained, QoS 1: the camera's latest status JSON
                                             ({"state", "reason", "shard", "time"}); a new subscriber
                                             gets it at once.
    {prefix}/sink/online                     retained "true" while the EventSink is connected; the broker
                                             publishes "false" (last will) when it vanishes.

Subscribe with wildcards: `matakota/events/simpang-lima/#`, `matakota/events/+/+/flood_level`.

Broker-down policy: `publish` never blocks the caller. Messages of QoS ≥ 1 wait in a bounded buffer
(`max_buffered`, in-flight included) while the broker is away and are sent when the client reconnects
(capped exponential backoff); a message that finds the buffer full is dropped and counted. QoS 0
messages are dropped (and counted) while disconnected. Counters: published (accepted into the buffer),
delivered (acknowledged by the broker; QoS 0: handed to the socket), dropped, reconnects.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid

import paho.mqtt.client as mqtt

from matakota.config import MqttConfig
from matakota.core.events import without_plate
from matakota.core.messages import StatusChange

log = logging.getLogger("matakota.outputs.mqtt")
UNSAFE = re.compile(r"[/+#\s]")


def segment(value: str) -> str:
    return UNSAFE.sub("_", str(value)) or "_"


def event_topic(prefix: str, event: dict) -> str:
    return f"{prefix}/events/{segment(event['site'])}/{segment(event['camera'])}/{segment(event['type'])}"


def status_topic(prefix: str, site: str, camera: str) -> str:
    return f"{prefix}/status/{segment(site)}/{segment(camera)}"


class MqttPublisher:
    def __init__(self, config: MqttConfig, password: str | None = None):
        self.config = config
        self.counters = {"published": 0, "delivered": 0, "dropped": 0, "reconnects": 0}
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=config.client_id or f"matakota-sink-{uuid.uuid4().hex[:8]}")
        if config.username:
            self.client.username_pw_set(config.username, password)
        self.client.max_queued_messages_set(config.max_buffered)
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        self.client.will_set(f"{config.prefix}/sink/online", "false", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        self.client.loop_start()  # network thread: connects, retries, sends the buffer

    def publish_event(self, event: dict) -> bool:
        return self._publish(event_topic(self.config.prefix, event), without_plate(event), self.config.qos,
                             retain=False)

    def publish_status(self, change: StatusChange) -> bool:
        status = {"state": change.state.value, "reason": change.reason, "shard": change.shard, "time": change.time}
        return self._publish(status_topic(self.config.prefix, change.site, change.camera), status,
                             max(1, self.config.qos), retain=True)

    def _publish(self, topic: str, body: dict, qos: int, retain: bool) -> bool:
        info = self.client.publish(topic, json.dumps(body, separators=(",", ":")), qos=qos, retain=retain)
        with self._lock:
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE or (qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS):
                self.counters["dropped"] += 1
                return False
            self.counters["published"] += 1
            return True

    @property
    def pending(self) -> int:
        """Accepted but not yet acknowledged by the broker."""
        with self._lock:
            return self.counters["published"] - self.counters["delivered"]

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", self.config.host, self.config.port,
                        reason_code)
            return
        self.connected.set()
        info = client.publish(f"{self.config.prefix}/sink/online", "true", qos=1, retain=True)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            with self._lock:
                self.counters["published"] += 1  # its PUBACK is counted as delivered too

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected.is_set():
            with self._lock:
                self.counters["reconnects"] += 1
        self.connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.counters["delivered"] += 1

    def stats(self) -> dict:
        with self._lock:
            return {**self.counters, "pending": self.counters["published"] - self.counters["delivered"],
                    "connected": self.connected.is_set()}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
