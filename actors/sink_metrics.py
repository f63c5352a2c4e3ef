"""The EventSink's figures as catalogued Prometheus metrics (core/metrics.py): rows stored, failed write batches,
records dropped, and MQTT/webhook deliveries (their counters grow on the outputs' own threads; exported as growth)."""

from __future__ import annotations

from collections import defaultdict

from matakota.core.metrics import metric

DELIVERY_RESULTS = {"delivered": "delivered", "retried": "retried", "dropped": "dropped",
                    "dead_lettered": "dead_letter"}  # an output's counter → the metric's `result`


class SinkMetrics:
    def __init__(self) -> None:
        self._deliveries: dict[tuple[str, str], int] = defaultdict(int)  # (output, result) → as exported

    def stored(self, events: int, counts: int, levels: int = 0) -> None:
        for kind, rows in (("events", events), ("counts", counts), ("levels", levels)):
            if rows:
                metric("matakota_store_writes_total").inc(rows, tags={"kind": kind})

    def write_failed(self) -> None:
        metric("matakota_store_write_errors_total").inc()

    def rejected(self, kind: str, records: int) -> None:
        metric("matakota_records_dropped_total").inc(records, tags={"kind": kind, "reason": "rejected"})

    def deliveries(self, outputs: dict) -> None:
        """`Outputs.stats()`: export what grew since the last call."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for output, counters in [("mqtt", outputs["mqtt"] or {}), *(("webhook", t) for t in outputs["webhooks"])]:
            for counter, result in DELIVERY_RESULTS.items():
                totals[(output, result)] += counters.get(counter, 0)
        for (output, result), total in totals.items():
            grown = total - self._deliveries[(output, result)]
            if grown > 0:
                self._deliveries[(output, result)] = total
                metric("matakota_output_deliveries_total").inc(grown, tags={"output": output, "result": result})
