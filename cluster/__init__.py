"""Lifecycle: start or join Ray, deploy the Serve application, start the fleet (`matakota up`, `matakota demo`, the
Kubernetes sidecar), the offline tools (`matakota detect`, `matakota analyze`) and the command line."""
