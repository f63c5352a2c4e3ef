"""Configs users start from (`fleet.yaml`, `cameras/*.yaml`). Shipped as package data, so `matakota demo` finds
its camera configs in any install: `importlib.resources.files("matakota.examples")`."""
