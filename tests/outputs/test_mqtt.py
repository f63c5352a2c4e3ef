"""MQTT against a real Mosquitto: topics, retained status, and the broker-down policy."""

from __future__ import annotations

import json

import pytest

from matakota.config import MqttConfig, OutputsConfig
from matakota.core.events import Event, EventState, EventType
from matakota.core.messages import CameraState, StatusChange
from matakota.outputs import MqttPublisher, Outputs
from tests.network import free_port
from tests.waiting import wait_for


def event(i=0, camera="cam-1", site="simpang-lima", type=EventType.FLOOD_LEVEL):
    return Event(type, camera, site, "gauge", EventState.RAISED, 1_767_225_600.0 + i, payload={"i": i}).to_json()


@pytest.fixture
def publishers():
    made = []

    def make(**fields):
        made.append(MqttPublisher(MqttConfig(enabled=True, **fields)))
        return made[-1]
    yield make
    for p in made:
        p.close()


@pytest.mark.timeout(30)
def test_events_arrive_on_their_topic(broker, prefix, subscribe, publishers):
    host, port = broker
    sub = subscribe(host, port, f"{prefix}/events/#")
    outputs = Outputs(OutputsConfig(mqtt=MqttConfig(enabled=True, host=host, port=port, prefix=prefix)))
    try:
        outputs.deliver([event(1), event(2, camera="cam-2", type=EventType.CROWDING)])
        assert wait_for(lambda: len(sub.messages) == 2)
        assert wait_for(lambda: outputs.mqtt.stats()["pending"] == 0)
    finally:
        outputs.close()
    topics = {topic: body for topic, body, _ in sub.messages}
    assert topics[f"{prefix}/events/simpang-lima/cam-1/flood_level"]["payload"] == {"i": 1}
    assert topics[f"{prefix}/events/simpang-lima/cam-2/crowding"]["id"] == event(2, "cam-2", type=EventType.CROWDING)["id"]
    assert outputs.mqtt.stats()["dropped"] == 0


@pytest.mark.timeout(30)
def test_camera_status_is_retained(broker, prefix, subscribe, publishers):
    host, port = broker
    publisher = publishers(host=host, port=port, prefix=prefix)
    assert publisher.connected.wait(10)
    publisher.publish_status(StatusChange("cam-9", "kota-lama", CameraState.OFFLINE, "timeout", "shard-3", 1767225600.0))
    assert wait_for(lambda: publisher.stats()["pending"] == 0)
    late = subscribe(host, port, f"{prefix}/status/#")  # subscribes after the fact: gets the retained one
    assert wait_for(lambda: late.messages)
    topic, body, retained = late.messages[0]
    assert (topic, body, retained) == (f"{prefix}/status/kota-lama/cam-9", {
        "state": "offline", "reason": "timeout", "shard": "shard-3", "time": 1767225600.0}, True)
    publisher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # clear the retained message


@pytest.mark.timeout(30)
def test_broker_down_never_blocks_and_drops_beyond_the_buffer(publishers):
    publisher = publishers(port=free_port(), max_buffered=5)  # nothing listens there
    for i in range(20):
        publisher.publish_event(event(i))  # returns at once
    stats = publisher.stats()
    assert (stats["published"], stats["dropped"], stats["delivered"], stats["connected"]) == (5, 15, 0, False)


@pytest.mark.timeout(60)
def test_buffered_events_are_sent_when_the_broker_comes_back(broker, forwarder, prefix, subscribe, publishers):
    publisher = publishers(port=forwarder.port, prefix=prefix, max_buffered=50, reconnect_min_s=0.2,
                           reconnect_max_s=0.5)
    for i in range(60):
        publisher.publish_event(event(i))
    assert publisher.stats()["dropped"] == 10  # past the bound, as documented
    sub = subscribe(*broker, f"{prefix}/events/#")
    forwarder.open()  # the broker "returns" on the publisher's port
    assert wait_for(lambda: len(sub.messages) >= 50, timeout=30)
    assert sorted(body["payload"]["i"] for _, body, _ in sub.messages) == list(range(50))
    assert wait_for(lambda: publisher.stats()["pending"] == 0)
    assert publisher.stats()["connected"]


@pytest.mark.timeout(30)
def test_parking_violations_go_out_without_their_plate(broker, prefix, subscribe):
    host, port = broker
    sub = subscribe(host, port, f"{prefix}/events/#")
    outputs = Outputs(OutputsConfig(mqtt=MqttConfig(enabled=True, host=host, port=port, prefix=prefix)))
    parked = Event(EventType.PARKING_VIOLATION, "cam-1", "simpang-lima", "bahu-jalan", EventState.STARTED,
                   1_767_225_600.0, payload={"zone": "bahu-jalan", "class": "car", "plate": "H 1234 AB",
                                             "plate_confidence": 0.91, "plate_votes": 3, "plate_reads": 4,
                                             "evidence": "/v1/events/x/evidence.zip"}).to_json()
    try:
        outputs.deliver([parked])
        assert wait_for(lambda: len(sub.messages) == 1)
    finally:
        outputs.close()
    topic, body, _ = sub.messages[0]
    assert topic == f"{prefix}/events/simpang-lima/cam-1/parking_violation" and body["id"] == parked["id"]
    assert body["payload"] == {"zone": "bahu-jalan", "class": "car"}
    assert "H 1234" not in json.dumps(body)
