"""FleetSupervisor: desired state (cameras) vs actual (shards, heartbeats, load); assigns, re-homes, rebalances.

- Desired state lives in the GCS (`desired_state`), so a restarted supervisor (`max_restarts=-1`) rebuilds it.
- Shards are detached named actors (`shard-<n>`, never reused) that outlive a supervisor restart: a restarted
  supervisor adopts every shard it finds and the cameras each reports, and moves nothing that did not need moving.
  It starts itself (Ray re-runs `__init__`, nobody calls `start`), and every change waits for that adoption: a
  change that arrives first can never place a camera a second time or reuse a shard's name.
- A shard that errors or misses heartbeats is replaced: its cameras go to shards with room (new ones if needed);
  the time until all of them are online again is measured and exported.
- Rebalancing by measured cost, with hysteresis and a cap on moves per round; a move is make-before-break.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field, fields

import ray
from ray.exceptions import RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from matakota.actors import desired_state
from matakota.actors.camera_runtime import runnable
from matakota.actors.camera_shard import CameraShard
from matakota.actors.placement import (
    Move,
    Shard,
    camera_cost,
    emptiest_node,
    estimated_cost,
    place,
    rebalance,
    shards_needed,
)
from matakota.config import CameraConfig, FleetConfig, error_reason, merge_patch
from matakota.core.errors import CameraError, SourceAuthError
from matakota.core.messages import (
    CameraDetail,
    CameraState,
    CameraStatus,
    Capacity,
    FailoverRecord,
    FleetView,
    LatestDetections,
    LoopStats,
    MoveRecord,
    RebalanceRecord,
    ShardHeartbeat,
    ShardView,
)
from matakota.core.metrics import metric
from matakota.core.names import APP_NAME, NAMESPACE, SHARD_PREFIX
from matakota.core.stats import percentiles

log = logging.getLogger("matakota.supervisor")

MOVE_ONLINE_TIMEOUT_S = 10.0
COST_SMOOTHING = 0.1  # EWMA weight of one heartbeat's measurement: load blips do not trigger moves
MOVE_COOLDOWN_S = 600.0  # a camera moved by a rebalance stays put this long (no ping-pong)
LOOP_SAMPLES = 300  # recent loop durations kept for /v1/fleet
FAILOVER_FIRST_S = 60.0  # replacement shards wait this long for a failover to finish (re-homing gets the CPU)
HISTORY = 100  # recent moves and failovers kept (for /v1/fleet and failover tracking)


@dataclass
class Failover:
    shard: str
    reason: str
    cameras: set[str]
    started: float
    duration_s: float | None = None
    waiting: set[str] = field(default_factory=set)

    def record(self) -> FailoverRecord:
        return FailoverRecord(self.shard, self.reason, len(self.cameras), self.started, self.duration_s)


# No task retries: add/remove are not idempotent; callers see the error while it restarts and try again.
@ray.remote(max_restarts=-1)
class FleetSupervisor:
    def __init__(self, fleet: dict, detector_app: str = APP_NAME) -> None:
        self.fleet = FleetConfig.model_validate(fleet)
        self.detector_app = detector_app
        saved = desired_state.load()
        self.desired: dict[str, CameraConfig] = saved if saved is not None else {c.id: c for c in self.fleet.cameras}
        if saved is None:
            desired_state.save(self.desired)
        options = self.fleet.shards
        self.capacity = Capacity(options.cameras_per_shard, options.max_load)
        self.shards: dict[str, Shard] = {}
        self.handles: dict[str, ray.actor.ActorHandle] = {}
        self.heartbeats: dict[str, ShardHeartbeat] = {}
        self.measured: dict[str, float] = {}  # camera → smoothed measured cost
        self.moved_at: dict[str, float] = {}  # camera → when a rebalance last moved it
        self.missed: dict[str, int] = {}
        self.starting: dict[str, float] = {}  # shard → when it was started, until its first heartbeat
        self.failovers: deque[Failover] = deque(maxlen=HISTORY)
        self.moves: deque[MoveRecord] = deque(maxlen=HISTORY)
        self.last_rebalance: RebalanceRecord | None = None
        self.loop_seconds: deque[float] = deque(maxlen=LOOP_SAMPLES)
        self._next_index = 0
        self.started_at = time.time()
        self._poller = None
        self._adopted = False
        self._lock = asyncio.Lock()
        # Queued behind this constructor: a supervisor Ray restarts adopts its shards and runs its loop at once.
        ray.get_runtime_context().current_actor.start.remote()

    # ---- start-up
    async def start(self) -> FleetView:
        """Adopt running shards, place every unplaced camera, start the loop. Idempotent."""
        async with self._lock:
            await self._adopt_once()
            if self._poller is None:
                await self._reconcile()
                self._poller = asyncio.get_running_loop().create_task(self._loop())
        return self.fleet_view()

    async def _adopt_once(self) -> None:
        """Adopt the running shards, once per incarnation, before anything else changes (call under the lock)."""
        if not self._adopted:
            await self._adopt_running_shards()
            self._adopted = True

    async def _adopt_running_shards(self) -> None:
        names = sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                       if a["namespace"] == NAMESPACE and a["name"].startswith(SHARD_PREFIX))
        for name in names:
            handle = ray.get_actor(name, namespace=NAMESPACE)
            try:
                beat = await asyncio.wait_for(handle.heartbeat.remote(), self.fleet.shards.heartbeat_timeout_s)
            except (RayActorError, asyncio.TimeoutError):
                continue
            self._next_index = max(self._next_index, int(name.removeprefix(SHARD_PREFIX)) + 1)
            self.handles[name] = handle
            self.heartbeats[name] = beat
            self.shards[name] = Shard(name, beat.node, {c.id for c in beat.cameras})
        log.info("adopted %d running shards", len(self.shards))

    def _measure_costs(self) -> None:
        """Fold this round's measured rates into each camera's smoothed cost (kept across moves)."""
        for beat in self.heartbeats.values():
            for camera in beat.cameras:
                if camera.state is CameraState.ONLINE and camera.fps_in:
                    sample = camera_cost(camera.fps_in, camera.fps_analysed)
                    previous = self.measured.get(camera.id, sample)
                    self.measured[camera.id] = previous + COST_SMOOTHING * (sample - previous)

    def _costs(self) -> dict[str, float]:
        return {camera_id: self.measured.get(camera_id) or estimated_cost(config)
                for camera_id, config in self.desired.items()}

    def _start_shard(self) -> str:
        name = f"{SHARD_PREFIX}{self._next_index}"
        self._next_index += 1
        options = self.fleet.shards
        # on the emptiest node (a node that just joined), not Ray's round-robin SPREAD; elsewhere if it has no room
        node = emptiest_node({n["NodeID"]: n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n["Alive"]},
                             list(self.shards.values()))
        strategy = NodeAffinitySchedulingStrategy(node, soft=True) if node else "SPREAD"
        self.handles[name] = CameraShard.options(
            name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=options.num_cpus,
            max_concurrency=64, scheduling_strategy=strategy,
        ).remote(name, options.model_dump(mode="json"), self.fleet.allow_files, self.detector_app)
        self.shards[name] = Shard(name, node)  # where it should run until its first heartbeat says where it does
        self.starting[name] = time.monotonic()
        return name

    async def _reconcile(self) -> None:
        """Make actual follow desired: drop cameras nobody wants, place the unplaced (adding shards as needed)."""
        costs = self._costs()
        for shard in self.shards.values():
            unwanted = sorted(shard.cameras - set(self.desired))
            if unwanted:
                shard.cameras -= set(unwanted)
                await self.handles[shard.name].remove_cameras.remote(unwanted)
        while len(self.shards) < shards_needed(costs, self.capacity):
            self._start_shard()
        placed = {c for shard in self.shards.values() for c in shard.cameras}
        before = {name: set(shard.cameras) for name, shard in self.shards.items()}
        unplaced = place(sorted(set(self.desired) - placed), self.shards, costs, self.capacity)
        while unplaced:
            self._start_shard()
            unplaced = place(unplaced, self.shards, costs, self.capacity)
        await self._push_additions(before)

    async def _push_additions(self, before: dict[str, set[str]]) -> None:
        calls = []
        for name, shard in self.shards.items():
            added = sorted(shard.cameras - before.get(name, set()))
            if added:
                cameras = [self.desired[c].model_dump(mode="json") for c in added]
                calls.append(self.handles[name].add_cameras.remote(cameras))
        await asyncio.gather(*calls)

    # ---- the loop: heartbeats, failover, rebalancing, metrics
    async def _loop(self) -> None:
        last_rebalance = time.monotonic()
        while True:
            started = time.monotonic()
            try:
                async with self._lock:
                    await self._poll_heartbeats()
                    self._measure_costs()
                    self._track_failovers()
                    self._keep_headroom()
                    if time.monotonic() - last_rebalance > self.fleet.shards.rebalance_period_s:
                        last_rebalance = time.monotonic()
                        await self._rebalance_round()
                    self._export_metrics()
            except Exception:  # noqa: BLE001 - the supervisor loop never dies
                log.exception("supervisor loop failed")
            self.loop_seconds.append(time.monotonic() - started)
            metric("matakota_supervisor_loop_seconds").observe(self.loop_seconds[-1])
            metric("matakota_supervisor_heartbeat_timestamp_seconds").set(time.time())
            await asyncio.sleep(max(0.0, self.fleet.shards.heartbeat_period_s - (time.monotonic() - started)))

    async def _poll_heartbeats(self) -> None:
        names = list(self.handles)
        beats = await asyncio.gather(
            *(asyncio.wait_for(self.handles[n].heartbeat.remote(), self.fleet.shards.heartbeat_timeout_s)
              for n in names),
            return_exceptions=True,
        )
        dead = []
        for name, beat in zip(names, beats):
            if isinstance(beat, ShardHeartbeat):
                self.heartbeats[name], self.missed[name] = beat, 0
                self.shards[name].node = beat.node
                self.starting.pop(name, None)
            elif isinstance(beat, RayActorError):
                dead.append((name, "actor died"))
            elif name in self.starting:  # a process still starting (seconds on a busy node) misses nothing yet
                if time.monotonic() - self.starting[name] > self.fleet.shards.start_timeout_s:
                    dead.append((name, f"not started after {self.fleet.shards.start_timeout_s:g} s"))
            else:
                self.missed[name] = self.missed.get(name, 0) + 1
                if self.missed[name] >= self.fleet.shards.missed_heartbeats:
                    dead.append((name, f"{self.missed[name]} heartbeats missed"))
        if dead:
            await self._fail_over(dead)

    async def _fail_over(self, dead: list[tuple[str, str]]) -> None:
        """Replace lost shards: all their cameras are placed in one round and pushed at once."""
        orphans: set[str] = set()
        for name, reason in dead:
            log.warning("shard %s lost (%s): re-homing its cameras", name, reason)
            shard = self.shards.pop(name)
            handle = self.handles.pop(name)
            last_beat = self.heartbeats.get(name)
            for state in (self.heartbeats, self.missed, self.starting):
                state.pop(name, None)
            try:
                ray.kill(handle, no_restart=True)  # a hung shard must not come back and decode twice
            except Exception:  # noqa: BLE001 - already gone
                pass
            metric("matakota_shard_restarts_total").inc(tags={"shard": name})
            lost = shard.cameras & set(self.desired)
            # done when the cameras that were online are online again (one that was down stays down elsewhere)
            was_online = lost if last_beat is None else _online(last_beat.cameras)
            self.failovers.append(Failover(name, reason, lost, time.time(), waiting=lost & was_online))
            orphans |= lost
        costs = self._costs()
        before = {n: set(s.cameras) for n, s in self.shards.items()}
        # Shards that answer heartbeats first: they take cameras at once, a new shard needs seconds to start.
        running = {n: s for n, s in self.shards.items() if n in self.heartbeats}
        unplaced = place(sorted(orphans), running, costs, self.capacity)
        unplaced = place(unplaced, self.shards, costs, self.capacity)
        while unplaced:
            self._start_shard()
            unplaced = place(unplaced, self.shards, costs, self.capacity)
        if orphans:
            metric("matakota_supervisor_moves_total").inc(len(orphans), tags={"reason": "failover"})
            await self._push_additions(before)

    def _keep_headroom(self) -> None:
        """Once no failover is under way (or after FAILOVER_FIRST_S), start the shards the fleet needs to absorb
        the next one (they fill up through rebalancing); during a failover, re-homing gets the CPU."""
        now = time.time()
        if not any(f.duration_s is None and now - f.started < FAILOVER_FIRST_S for f in self.failovers):
            while len(self.shards) < shards_needed(self._costs(), self.capacity):
                self._start_shard()

    def _track_failovers(self) -> None:
        online = _online(c for beat in self.heartbeats.values() for c in beat.cameras)
        for failover in self.failovers:
            if failover.duration_s is None:
                failover.waiting = {c for c in failover.waiting if c in self.desired and c not in online}
                if not failover.waiting:
                    failover.duration_s = round(time.time() - failover.started, 3)
                    metric("matakota_supervisor_failover_seconds").observe(failover.duration_s)
                    log.info("failover of %s done in %.1fs", failover.shard, failover.duration_s)

    async def _rebalance_round(self) -> list[Move]:
        options = self.fleet.shards
        now = time.time()
        pinned = {c for c, at in self.moved_at.items() if now - at < MOVE_COOLDOWN_S}
        moves = rebalance(self.shards, self._costs(), self.capacity, pinned=pinned,
                          tolerance=options.rebalance_tolerance, max_moves=options.max_moves_per_round)
        await asyncio.gather(*(self._move(move) for move in moves))  # each make-before-break, all at once
        self.last_rebalance = RebalanceRecord(time.time(), len(moves))
        return moves

    async def _move(self, move: Move) -> None:
        """Make-before-break: the camera runs on the target in standby (decoding, not analysing) until it is
        online there; then the source stops it and hands its analytics over, and the target goes on with them."""
        config = self.desired[move.camera].model_dump(mode="json")
        target = self.handles[move.target]
        await target.add_cameras.remote([config], standby=True)
        deadline = time.monotonic() + MOVE_ONLINE_TIMEOUT_S
        while time.monotonic() < deadline:
            if move.camera in _online((await target.heartbeat.remote()).cameras):
                break
            await asyncio.sleep(0.2)
        try:
            analytics = await self.handles[move.source].release_cameras.remote([move.camera])
        except RayActorError:  # the source died meanwhile: its state is lost, the target starts afresh
            analytics = {}
        await target.adopt_cameras.remote({move.camera: analytics.get(move.camera)})
        self.shards[move.source].cameras.discard(move.camera)
        self.shards[move.target].cameras.add(move.camera)
        metric("matakota_supervisor_moves_total").inc(tags={"reason": "rebalance"})
        self.moved_at[move.camera] = time.time()
        self.moves.append(MoveRecord(move.camera, move.source, move.target, time.time()))

    def _export_metrics(self) -> None:
        states: Counter[tuple[str, str, str]] = Counter()
        reported: set[str] = set()
        for beat in self.heartbeats.values():
            for camera in beat.cameras:
                if camera.id in self.desired and camera.id not in reported:  # once, even while it moves
                    reported.add(camera.id)
                    states[(camera.site, camera.owner, camera.state)] += 1
        for camera_id, camera in self.desired.items():
            if camera_id not in reported:
                states[(camera.site, camera.owner, CameraState.ASSIGNING)] += 1
        for site, owner in {(c.site, c.owner) for c in self.desired.values()}:
            for state in CameraState:
                metric("matakota_fleet_cameras").set(states.get((site, owner, state), 0),
                                                     tags={"site": site, "owner": owner, "state": state.value})
        metric("matakota_fleet_shards").set(len(self.shards))

    # ---- run-time camera management (the API's admin endpoints)
    async def add_camera(self, camera: dict) -> CameraDetail:
        [camera_id] = await self.add_cameras([camera])
        return self.camera(camera_id)

    async def add_cameras(self, cameras: list[dict]) -> list[str]:
        """Add many cameras in one placement round (a district at a time); all or none are added."""
        if not cameras:
            return []
        configs = [self._validated(camera, f"cameras[{index}]." if len(cameras) > 1 else "")
                   for index, camera in enumerate(cameras)]
        async with self._lock:
            await self._adopt_once()
            ids = [config.id for config in configs]
            repeated = Counter(ids)
            taken = sorted({i for i in ids if i in self.desired or repeated[i] > 1})
            if len(taken) == 1:
                raise CameraError(f"camera {taken[0]!r} already exists", 409)
            if taken:
                shown = ", ".join(map(repr, taken[:5])) + (", …" if len(taken) > 5 else "")
                raise CameraError(f"{len(taken)} camera ids already exist or repeat: {shown}", 409)
            self.desired.update((config.id, config) for config in configs)
            desired_state.save(self.desired)
            await self._reconcile()
        metric("matakota_supervisor_moves_total").inc(len(configs), tags={"reason": "added"})
        return ids

    async def remove_camera(self, camera_id: str) -> None:
        async with self._lock:
            await self._adopt_once()
            if camera_id not in self.desired:
                raise CameraError(f"no camera {camera_id!r}", 404)
            del self.desired[camera_id]
            desired_state.save(self.desired)
            await self._reconcile()
        metric("matakota_supervisor_moves_total").inc(tags={"reason": "removed"})

    async def update_camera(self, camera_id: str, changes: dict) -> CameraDetail:
        """Apply a JSON Merge Patch (RFC 7396) live, validated as a whole before it is saved: the camera restarts
        on the shard it is on, its analytics going on unless its site or analytics section changed."""
        async with self._lock:
            await self._adopt_once()
            if camera_id not in self.desired:
                raise CameraError(f"no camera {camera_id!r}", 404)
            if changes.get("id", camera_id) != camera_id:
                raise CameraError("a camera's id cannot change; add a new camera instead", 422)
            config = self._validated(merge_patch(self.desired[camera_id].model_dump(mode="json"), changes))
            self.desired[camera_id] = config
            desired_state.save(self.desired)
            owner = self.assignment().get(camera_id)
            if owner is None:  # not placed yet (its shard just died): the next placement uses the new config
                await self._reconcile()
            else:
                await self.handles[owner].replace_camera.remote(config.model_dump(mode="json"))
        return self.camera(camera_id)

    def _validated(self, camera: dict, where: str = "") -> CameraConfig:
        """A camera saved to the desired state must be one every shard can run: 422 otherwise."""
        try:
            return runnable(camera, self.fleet.allow_files)
        except (ValueError, SourceAuthError) as error:
            raise CameraError(where + error_reason(error), 422) from None

    async def scale_shards(self, count: int) -> list[str]:
        """Start shards until there are `count` (new ones fill up through rebalancing)."""
        async with self._lock:
            await self._adopt_once()
            while len(self.shards) < count:
                self._start_shard()
            return sorted(self.shards)

    async def rebalance_now(self) -> list[Move]:
        async with self._lock:
            await self._adopt_once()
            return await self._rebalance_round()

    # ---- what the API reads
    def _row(self, camera_id: str) -> CameraStatus:
        for beat in self.heartbeats.values():
            for camera in beat.cameras:
                if camera.id == camera_id:
                    return camera
        return self._unreported(camera_id, self.assignment().get(camera_id))

    def _unreported(self, camera_id: str, shard: str | None) -> CameraStatus:
        camera = self.desired[camera_id]
        return CameraStatus(camera_id, camera.site, camera.redacted_url, CameraState.ASSIGNING, shard=shard,
                            gauge=camera.analytics.gauge is not None, owner=camera.owner,
                            location=camera.location_json)

    def camera(self, camera_id: str) -> CameraDetail:
        """One camera's status and config; CameraError 404 for an unknown one."""
        if camera_id not in self.desired:
            raise CameraError(f"no camera {camera_id!r}", 404)
        config = self.desired[camera_id]
        status = self._row(camera_id)
        return CameraDetail(**{f.name: getattr(status, f.name) for f in fields(status)},
                            config={**config.model_dump(mode="json"), "url": config.redacted_url})

    def cameras(self) -> list[CameraStatus]:
        reported = {c.id: c for beat in self.heartbeats.values() for c in beat.cameras}
        owner = self.assignment()
        return [reported.get(camera_id) or self._unreported(camera_id, owner.get(camera_id))
                for camera_id in self.desired]

    def assignment(self) -> dict[str, str]:
        return {c: name for name, shard in self.shards.items() for c in shard.cameras}

    async def latest_detections(self, camera_id: str) -> LatestDetections | None:
        owner = self.assignment().get(camera_id)
        return await self.handles[owner].latest_detections.remote(camera_id) if owner else None

    def fleet_view(self) -> FleetView:
        costs = self._costs()
        return FleetView(
            supervisor_started=self.started_at,
            cameras=len(self.desired),
            shards=tuple(ShardView(name, shard.node, len(shard.cameras),
                                   round(sum(costs.get(c, 0.0) for c in shard.cameras), 3),
                                   beat.time if (beat := self.heartbeats.get(name)) else None)
                         for name, shard in sorted(self.shards.items())),
            capacity=self.capacity,
            last_rebalance=self.last_rebalance,
            loop_seconds=LoopStats(*percentiles(self.loop_seconds), loops=len(self.loop_seconds)),
            moves=tuple(self.moves)[-20:],
            failovers=tuple(f.record() for f in self.failovers)[-20:],
        )

    async def stop(self, forget: bool = False) -> None:
        """Stop every shard (detached actors outlive us otherwise); `forget` also drops the desired state."""
        if self._poller:
            self._poller.cancel()
        await asyncio.gather(*(h.stop.remote() for h in self.handles.values()), return_exceptions=True)
        for handle in self.handles.values():
            ray.kill(handle, no_restart=True)
        self.handles.clear()
        self.shards.clear()
        if forget:
            desired_state.clear()


def _online(cameras) -> set[str]:
    return {camera.id for camera in cameras if camera.state is CameraState.ONLINE}
