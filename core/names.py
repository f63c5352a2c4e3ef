"""Where operators, tests and the API find matakota's named Ray actors and Serve deployments."""

NAMESPACE = "matakota"
SUPERVISOR_NAME = "supervisor"
EVENT_SINK_NAME = "event-sink"
SHARD_PREFIX = "shard-"
APP_NAME = "matakota"  # the Serve application (KubeRay's serveConfigV2 names it too)
DETECTOR_NAME = "Detector"  # its deployments
API_NAME = "Api"
