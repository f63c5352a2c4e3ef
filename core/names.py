"""Where operators, tests and the API find matakota's named Ray actors and Serve deployments."""

NAMESPACE = "matakota"
SUPERVISOR_NAME = "supervisor"
EVENT_SINK_NAME = "event-sink"
SHARD_PREFIX = "shard-"
APP_NAME = "matakota"  # the Serve application (KubeRay's serveConfigV2 names it too)
DETECTOR_NAME = "Detector"  # its deployments
API_NAME = "Api"
# The control actors (supervisor, EventSink) live on the head node: a lost worker node (pod) never takes them down,
# and the head's own loss is what KubeRay's GCS fault tolerance recovers from. Ray gives every head node this resource.
ON_HEAD_NODE = {"node:__internal_head__": 0.001}
