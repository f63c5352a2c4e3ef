"""EventSink: the one writer of counts, events and water levels. Stores each batch, then fans its events out (MQTT,
webhooks, the SSE broadcast). Senders keep batches in an `Outbox` until `write` acknowledges them.

At-least-once, no doubles: `write` is idempotent (records carry stable ids, water-level readings their camera
and time; the store inserts with ON CONFLICT DO NOTHING), so it is the one method Ray retries
(`max_task_retries=-1`) when the actor dies mid-call; the actor restarts (`max_restarts=-1`) and rebuilds from
the store, which is where the truth is. Fan-out is at-least-once too: events a restarted sink receives again are
published again (each message carries the stable event id to dedupe on); a resend to a live sink is recognised
and not re-published.

SSE: the API's stream endpoint long-polls `poll(after, timeout_s)`; sequence numbers restart with the actor
(a reader whose sequence is ahead of the sink's starts over from "now").
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections import OrderedDict

import ray
from ray.exceptions import RayError

from matakota.actors import sink_settings
from matakota.actors.analytics_runs import AnalyticsRuns
from matakota.actors.outbox import Outbox
from matakota.actors.sink_metrics import SinkMetrics
from matakota.config import OutputsConfig, PlanEntry, ReportsConfig, StoreConfig
from matakota.core.messages import StatusChange
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE, ON_HEAD_NODE
from matakota.outputs import Outputs
from matakota.store import InvalidRecord, open_store, split_cases, split_evidence
from matakota.store.cases import case_extra, case_row
from matakota.store.sql import count_row, event_row, level_row

log = logging.getLogger("matakota.event_sink")
SEEN_BATCHES = 10_000
SEEN_EVENTS = 100_000
EXPORT_PERIOD_S = 5.0  # how often delivery counters are exported
LOST_CASES_PERIOD_S = 60.0  # how often open parking cases of lost analytics runs are looked for


class _Recent(OrderedDict):
    """Bounded set of recently seen keys (oldest forgotten first)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def add(self, key, value=None) -> bool:
        """True if the key is new."""
        if key in self:
            return False
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return True


@ray.remote(max_restarts=-1, max_task_retries=0)
class EventSink:
    def __init__(self, store: StoreConfig, outputs: OutputsConfig | None = None, pg_schema: str | None = None,
                 reports: ReportsConfig | None = None, plan: list[PlanEntry] = ()):
        """`reports` and `plan` (Config.counting_plan()): the time zone and counting plans counts are rolled up by;
        after a restart, the ones last given to `configure` (Ray passes the first arguments again)."""
        context = ray.get_runtime_context()
        self.name = context.get_actor_name() or ""
        if self.name and context.was_current_actor_reconstructed:
            reports, plan = sink_settings.load(self.name) or (reports, plan)
        elif self.name:
            sink_settings.clear(self.name)  # a new sink: a config pushed to an earlier one of its name is not its
        self.config = store
        self.reports = reports or ReportsConfig()
        self.store = open_store(store.resolved_url(), schema=pg_schema)
        self.store.set_counting_plan(plan)
        self.outputs = Outputs(outputs or OutputsConfig())
        self.counters = {"batches": 0, "duplicate_batches": 0, "events_stored": 0, "counts_stored": 0,
                         "levels_stored": 0, "rejected": 0, "store_errors": 0, "pruned_events": 0, "pruned_counts": 0,
                         "pruned_levels": 0, "hours_rolled_up": 0,
                         "pruned_cases": 0, "lost_cases_closed": 0}
        self.runs = AnalyticsRuns()  # each camera's analytics run, from its counts: a changed run lost its cases
        self._batches = _Recent(SEEN_BATCHES)  # batch id → ack, to answer resends without a write
        self._fanned = _Recent(SEEN_EVENTS)
        self.metrics = SinkMetrics()
        self._background: list[asyncio.Task] = []
        self.started = time.time()

    async def configure(self, reports: ReportsConfig, plan: list[PlanEntry]) -> dict:
        """Take the deployment's current time zone and counting plans (bootstrap pushes them every start: a detached
        sink outlives the config it was started with). A new plan rolls up again every hour still in minutes; a
        new time zone recuts days and months at the next roll-up."""
        if self.name:
            await asyncio.to_thread(sink_settings.save, self.name, reports, list(plan))
        plan_changed = await asyncio.to_thread(self.store.set_counting_plan, plan)
        timezone_changed, self.reports = reports.timezone != self.reports.timezone, reports
        return {"timezone": reports.timezone, "plan_changed": plan_changed, "timezone_changed": timezone_changed}

    @ray.method(max_task_retries=-1)
    async def write(self, batch_id: str, events: list[dict], counts: list[dict],
                    levels: list[dict] | None = None) -> dict:
        """Store a batch (idempotent) and fan its events out; the returned ack means it is durable. `levels` are
        water-level readings of gauge cameras (stored, not fanned out)."""
        self._start_background()
        if batch_id in self._batches:
            self.counters["duplicate_batches"] += 1
            return {**self._batches[batch_id], "duplicate": True}
        events, counts, levels, rejected = self._valid(events, counts, levels or [])
        events, cases = split_cases(events)  # parking violations' evidence packages: kept apart, for longer
        events, snapshots = split_evidence(events)  # images stay in the store: the API serves them
        try:
            result = await asyncio.to_thread(self.store.write, events, counts, snapshots, levels)
            ended = [e for e in events if e.get("type") == "parking_violation" and e.get("state") == "ended"]
            if cases or ended:
                await asyncio.to_thread(self.store.write_cases, cases, ended)
        except Exception:
            self.counters["store_errors"] += 1
            self.metrics.write_failed()
            raise  # not acknowledged: the sender keeps the batch and resends
        now = time.time()
        for count in counts:
            if count.get("part"):
                self.runs.heard(str(count["camera"]), str(count["part"]), now)
        self.counters["batches"] += 1
        self.counters["events_stored"] += result.events
        self.counters["counts_stored"] += result.counts
        self.counters["levels_stored"] += result.levels
        self.metrics.stored(result.events, result.counts, result.levels)
        for kind, records in rejected.items():
            if records:
                self.counters["rejected"] += records
                self.metrics.rejected(kind, records)
        self.outputs.deliver([e for e in events if self._fanned.add(e["id"])])
        ack = {"batch_id": batch_id, "events": result.events, "counts": result.counts, "levels": result.levels,
               "rejected": sum(rejected.values())}
        self._batches.add(batch_id, ack)
        return {**ack, "duplicate": False}

    def _valid(self, events, counts, levels):
        """Records the store can take; a malformed one is counted (by kind) and skipped, so it never blocks a batch."""
        good_events, good_counts, good_levels, rejected = [], [], [], {"event": 0, "count": 0, "level": 0}
        for kind, records, check, good in (("event", events, event_row, good_events),
                                           ("count", counts, count_row, good_counts),
                                           ("level", levels, level_row, good_levels)):
            for record in records:
                try:
                    check(record)
                    if kind == "event" and "case" in record:
                        try:
                            case_row(record["case"]), case_extra(record["case"])
                        except InvalidRecord as error:  # the event stands; a broken package is dropped, counted
                            record = {k: v for k, v in record.items() if k != "case"}
                            rejected["case"] = rejected.get("case", 0) + 1
                            log.warning("rejected evidence package: %s", error)
                    good.append(record)
                except InvalidRecord as error:
                    rejected[kind] += 1
                    log.warning("rejected record: %s", error)
        return good_events, good_counts, good_levels, rejected

    async def poll(self, after: int | None = None, timeout_s: float = 15.0, limit: int = 100):
        """Live events after sequence `after` (None: from now), waiting up to timeout_s: ([(seq, event)], last)."""
        return await self.outputs.broadcast.poll(after, min(timeout_s, 60.0), limit)

    async def announce(self, note: dict) -> None:
        """Put a note on the live stream beside the events (`kind` says what it is: "handled", an operator's
        acknowledgement or resolution), so every open console updates."""
        self.outputs.broadcast.publish([note])

    async def recent(self, limit: int = 100) -> list[dict]:
        return self.outputs.broadcast.recent(limit)

    async def statuses(self, changes: list[StatusChange]) -> None:
        """Publish camera status changes (retained on MQTT); one call per shard flush."""
        for change in changes:
            self.outputs.status(change)

    async def prune(self) -> dict:
        if not self.config.prunes:
            return {"events": 0, "counts": 0, "snapshots": 0, "levels": 0}
        result = await asyncio.to_thread(self.store.prune, self.config.retention_s or math.inf,
                                         originals_older_than_s=self.config.original_retention_s)
        self.counters["pruned_events"] += result.events
        self.counters["pruned_counts"] += result.counts
        self.counters["pruned_levels"] += result.levels
        if self.config.case_retention_s is not None:
            self.counters["pruned_cases"] += await asyncio.to_thread(self.store.prune_cases,
                                                                     self.config.case_retention_s)
        return {"events": result.events, "counts": result.counts, "snapshots": result.snapshots,
                "levels": result.levels}

    def _start_background(self) -> None:
        if not self._background:
            loop = asyncio.get_running_loop()
            self._background = [loop.create_task(self._export_forever())]
            if self.config.prunes:
                self._background.append(loop.create_task(self._prune_forever()))
            self._background.append(loop.create_task(self._roll_up_forever()))
            self._background.append(loop.create_task(self._close_lost_cases_forever()))

    async def _prune_forever(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception as error:  # noqa: BLE001 - a failed prune is retried next interval
                log.warning("prune failed: %s", error)
            await asyncio.sleep(self.config.prune_interval_s)

    async def roll_up(self) -> int:
        """Roll up the hours whose counts changed (store/rollups.py); prune hourly roll-ups past their retention."""
        now = time.time()
        kept = None if self.config.retention_s is None else now - self.config.retention_s
        hours = await asyncio.to_thread(self.store.refresh_rollups, self.reports.timezone, now, minutes_since=kept)
        if self.config.hourly_rollup_retention_s is not None:
            await asyncio.to_thread(self.store.prune_rollups, "hour", now - self.config.hourly_rollup_retention_s)
        self.counters["hours_rolled_up"] += hours
        return hours

    async def _roll_up_forever(self) -> None:
        while True:
            try:
                await self.roll_up()
            except Exception as error:  # noqa: BLE001 - retried next interval; queries read the minutes meanwhile
                log.warning("roll-up failed: %s", error)
            await asyncio.sleep(self.config.rollup_interval_s)

    async def close_lost_cases(self) -> int:
        """End the open parking cases whose analytics run was lost and that no case continued (store/cases.py)."""
        closed = await asyncio.to_thread(self.store.close_lost_cases, self.runs.replaced())
        self.counters["lost_cases_closed"] += closed
        return closed

    async def _close_lost_cases_forever(self) -> None:
        while True:
            await asyncio.sleep(LOST_CASES_PERIOD_S)
            try:
                await self.close_lost_cases()
            except Exception as error:  # noqa: BLE001 - retried next period
                log.warning("closing lost parking cases failed: %s", error)

    async def _export_forever(self) -> None:
        while True:
            self.metrics.deliveries(self.outputs.stats())
            await asyncio.sleep(EXPORT_PERIOD_S)

    async def stats(self) -> dict:
        return {**self.counters, "pid": os.getpid(), "started": self.started, "outputs": self.outputs.stats(),
                "timezone": self.reports.timezone}

    async def check_health(self) -> bool:
        await asyncio.to_thread(self.store.schema_version)
        return True


def start_event_sink(store: StoreConfig, outputs: OutputsConfig | None = None, *, name: str = EVENT_SINK_NAME,
                     pg_schema: str | None = None, reports: ReportsConfig | None = None, plan: list[PlanEntry] = (),
                     **options):
    """The named EventSink (created if missing). Extra options go to `.options()` (e.g. lifetime="detached")."""
    return EventSink.options(name=name, namespace=NAMESPACE, get_if_exists=True, num_cpus=0, resources=ON_HEAD_NODE,
                             max_concurrency=256, **options).remote(store, outputs, pg_schema, reports, list(plan))


def flush(outbox: Outbox, sink, timeout_s: float = 30.0, max_batches: int = 1000) -> int:
    """Send the outbox's batches in order until it is empty, one fails, or max_batches; returns acked batches.
    A failed or timed-out batch stays in the outbox for the next call."""
    sent = 0
    while sent < max_batches and (batch := outbox.next_batch()) is not None:
        try:
            ray.get(sink.write.remote(batch.id, batch.events, batch.counts, batch.levels), timeout=timeout_s)
        except RayError as error:  # timed out, actor unavailable, or the store failed: keep it
            log.warning("EventSink did not acknowledge batch %s: %s", batch.id, type(error).__name__)
            break
        outbox.ack(batch.id)
        sent += 1
    return sent


async def flush_async(outbox: Outbox, sink, timeout_s: float = 30.0, max_batches: int = 1000) -> int:
    """`flush` for async actors (CameraShard)."""
    sent = 0
    while sent < max_batches and (batch := outbox.next_batch()) is not None:
        try:
            await asyncio.wait_for(sink.write.remote(batch.id, batch.events, batch.counts, batch.levels), timeout_s)
        except (asyncio.TimeoutError, RayError) as error:
            log.warning("EventSink did not acknowledge batch %s: %s", batch.id, type(error).__name__)
            break
        outbox.ack(batch.id)
        sent += 1
    return sent
