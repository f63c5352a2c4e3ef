"""The Ray actors: `CameraShard` (cameras → Detector → analytics → outbox), `FleetSupervisor` (placement,
failover, rebalancing) and `EventSink` (store and fan-out). Pure logic lives beside them with no Ray:
`placement.py`, `outbox.py`."""
