"""Where operators, tests and the API find matakota's named Ray actors."""

NAMESPACE = "matakota"
SUPERVISOR_NAME = "supervisor"
EVENT_SINK_NAME = "event-sink"
SHARD_PREFIX = "shard-"
