"""FleetSupervisor: desired state (cameras) vs actual (shards, heartbeats); assigns and re-homes cameras.

Shards are detached named actors, so they outlive a supervisor restart: a restarted supervisor adopts the
shards it finds (by name) and the cameras they report, and moves nothing that did not need moving.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

import ray
from ray.exceptions import GetTimeoutError, RayActorError

from matakota.actors.camera_shard import NAMESPACE, CameraShard, shard_name
from matakota.cluster.config import CameraConfig, FleetConfig

log = logging.getLogger("matakota.supervisor")

SUPERVISOR_NAME = "supervisor"
HEARTBEAT_PERIOD_S = 1.0
HEARTBEAT_TIMEOUT_S = 5.0


@ray.remote(max_restarts=-1, max_task_retries=-1)
class FleetSupervisor:
    def __init__(self, fleet: dict, detector_app: str = "matakota") -> None:
        self.fleet = FleetConfig.model_validate(fleet)
        self.detector_app = detector_app
        self.desired: dict[str, CameraConfig] = {c.id: c for c in self.fleet.cameras}
        self.assignment: dict[str, str] = {}  # camera id → shard name
        self.shards: dict[str, ray.actor.ActorHandle] = {}
        self.heartbeats: dict[str, dict] = {}
        self.failovers: list[dict] = []
        self._poller = None

    # ---- start-up: adopt what runs, start what is missing
    async def start(self) -> dict:
        if self._poller is None:
            await self._adopt_running_shards()
            await self._assign(list(self.desired))
            self._poller = asyncio.get_running_loop().create_task(self._poll_forever())
        return self.fleet_view()

    def _shard_count(self) -> int:
        return max(1, math.ceil(len(self.desired) / self.fleet.shards.cameras_per_shard))

    async def _adopt_running_shards(self) -> None:
        for index in range(self._shard_count()):
            name = shard_name(index)
            try:
                handle = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                continue
            try:
                beat = await asyncio.wait_for(handle.heartbeat.remote(), HEARTBEAT_TIMEOUT_S)
            except (RayActorError, asyncio.TimeoutError):
                continue
            self.shards[name] = handle
            self.heartbeats[name] = beat
            for camera in beat["cameras"]:
                if camera["id"] in self.desired:
                    self.assignment[camera["id"]] = name

    def _new_shard(self, name: str):
        options = self.fleet.shards
        return CameraShard.options(
            name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=options.num_cpus, max_concurrency=64,
        ).remote(name, options.model_dump(mode="json"), self.fleet.allow_files, self.detector_app)

    async def _assign(self, camera_ids: list[str]) -> None:
        """Place unassigned cameras on the least-loaded shard with room (stable: placed cameras stay)."""
        capacity = self.fleet.shards.cameras_per_shard
        for index in range(self._shard_count()):
            name = shard_name(index)
            if name not in self.shards:
                self.shards[name] = self._new_shard(name)
        load = {name: 0 for name in self.shards}
        for shard in self.assignment.values():
            load[shard] = load.get(shard, 0) + 1
        plan: dict[str, list[dict]] = {}
        for camera_id in camera_ids:
            if camera_id in self.assignment:
                continue
            name = min(load, key=lambda s: (load[s] >= capacity, load[s], s))
            load[name] += 1
            self.assignment[camera_id] = name
            plan.setdefault(name, []).append(self.desired[camera_id].model_dump(mode="json"))
        await asyncio.gather(*(self.shards[name].add_cameras.remote(cams) for name, cams in plan.items()))

    # ---- liveness
    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_PERIOD_S)
            try:
                await self._poll_once()
            except Exception:  # noqa: BLE001 - the supervisor loop never dies
                log.exception("supervisor poll failed")

    async def _poll_once(self) -> None:
        names = list(self.shards)
        beats = await asyncio.gather(
            *(asyncio.wait_for(self.shards[n].heartbeat.remote(), HEARTBEAT_TIMEOUT_S) for n in names),
            return_exceptions=True,
        )
        for name, beat in zip(names, beats):
            if isinstance(beat, dict):
                self.heartbeats[name] = beat
            elif isinstance(beat, (RayActorError, asyncio.TimeoutError, GetTimeoutError)):
                await self._replace_shard(name, reason=type(beat).__name__)

    async def _replace_shard(self, name: str, reason: str) -> None:
        """A dead shard's cameras start on a fresh shard of the same name."""
        started = time.time()
        log.warning("shard %s lost (%s): re-homing its cameras", name, reason)
        try:
            ray.kill(self.shards[name], no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.heartbeats.pop(name, None)
        moved = [camera_id for camera_id, shard in self.assignment.items() if shard == name]
        for camera_id in moved:
            del self.assignment[camera_id]
        del self.shards[name]
        await asyncio.sleep(0.5)  # let the name be released
        await self._assign(moved)
        self.failovers.append({"shard": name, "reason": reason, "cameras": len(moved), "at": started})

    # ---- what the API reads
    def cameras(self) -> list[dict]:
        reported = {c["id"]: {**c, "shard": name} for name, beat in self.heartbeats.items() for c in beat["cameras"]}
        rows = []
        for camera_id, camera in self.desired.items():
            row = reported.get(camera_id) or {"id": camera_id, "site": camera.site, "url": camera.redacted_url,
                                              "state": "assigning", "shard": self.assignment.get(camera_id)}
            rows.append(row)
        return rows

    async def latest_detections(self, camera_id: str) -> dict | None:
        shard = self.assignment.get(camera_id)
        return await self.shards[shard].latest_detections.remote(camera_id) if shard else None

    def fleet_view(self) -> dict:
        return {
            "shards": [
                {"name": name, "cameras": sum(1 for s in self.assignment.values() if s == name),
                 "node": self.heartbeats.get(name, {}).get("node"),
                 "last_heartbeat": self.heartbeats.get(name, {}).get("time")}
                for name in sorted(self.shards)
            ],
            "cameras": len(self.desired),
            "failovers": self.failovers[-20:],
        }

    async def shard_names(self) -> list[str]:
        return sorted(self.shards)

    async def stop(self) -> None:
        """Stop every shard's readers and the shards themselves (detached actors outlive us otherwise)."""
        if self._poller:
            self._poller.cancel()
        await asyncio.gather(*(shard.stop.remote() for shard in self.shards.values()), return_exceptions=True)
        for shard in self.shards.values():
            ray.kill(shard, no_restart=True)
        self.shards.clear()
