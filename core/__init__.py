"""What every layer shares and nothing of the project's own: value types, errors, names, the metrics catalogue,
URL grammar, settings and assets (docs/architecture.md)."""

VERSION = "0.1.0"
