"""`matakota up`: run a configured fleet on Ray and watch it, or keep it started on a cluster (the sidecar)."""

from __future__ import annotations

import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import ray

from matakota.cluster import bootstrap
from matakota.config import Config, is_postgres_url
from matakota.core.calendar import zone
from matakota.core.messages import CameraState, CameraStatus
from matakota.core.names import EVENT_SINK_NAME, NAMESPACE
from matakota.core.redact import redact_url


def summarise(cameras: list[CameraStatus]) -> dict:
    p50 = [c.latency_p50_s for c in cameras if c.latency_p50_s is not None]
    p99 = [c.latency_p99_s for c in cameras if c.latency_p99_s is not None]
    return {
        "online": sum(c.state is CameraState.ONLINE for c in cameras),
        "cameras": len(cameras),
        "fps_in": sum(c.fps_in for c in cameras),
        "fps_analysed": sum(c.fps_analysed for c in cameras),
        "detections": sum(c.detections for c in cameras),
        "drops": sum(c.drops for c in cameras),
        "p50": max(p50) if p50 else None,
        "p99": max(p99) if p99 else None,
    }


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def live_view(supervisor, duration: float | None, out=sys.stdout) -> dict:
    """Print one status line every 2 s until `duration` passes or Ctrl-C; returns the last summary."""
    deadline = time.monotonic() + duration if duration else float("inf")
    last_detections, last_time, summary = 0, time.monotonic(), {}
    out.write(f"{'time':>6} {'online':>9} {'fps in':>8} {'analysed/s':>11} {'det/s':>7} {'drops':>7} "
              f"{'p50':>8} {'p99':>8}   (Ctrl-C to stop)\n")
    started = time.monotonic()
    try:
        while time.monotonic() < deadline:
            time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
            summary = summarise(ray.get(supervisor.cameras.remote(), timeout=30))
            now = time.monotonic()
            rate = (summary["detections"] - last_detections) / max(now - last_time, 1e-3)
            last_detections, last_time = summary["detections"], now
            out.write(f"{now - started:5.0f}s {summary['online']:>4}/{summary['cameras']:<4} {summary['fps_in']:8.1f} "
                      f"{summary['fps_analysed']:11.1f} {rate:7.1f} {summary['drops']:7d} "
                      f"{_ms(summary['p50']):>8} {_ms(summary['p99']):>8}\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    return summary


def run_fleet(config: Config, duration: float | None, address: str | None = None, reset: bool = False,
              deploy: bool = True) -> int:
    """Deploy and watch a fleet. A local run is torn down at the end; on a cluster (`address`) it keeps running."""
    metrics_url = bootstrap.start_ray(address, metrics_port=None if address else config.metrics.port)
    try:
        bootstrap.serve_app(config, deploy)
        supervisor = bootstrap.start_fleet(config, reset=reset or not address)
        base = f"http://{config.api.host}:{config.api.port}"
        print(f"matakota: {len(config.fleet.cameras)} cameras; operator view {base}/ui, API {base}/v1/cameras, "
              f"schema {base}/docs", flush=True)
        if metrics_url:
            print(f"metrics: {metrics_url}", flush=True)
        started = time.time()
        summary = live_view(supervisor, duration)
        visits = None if address else visits_since(config, started)  # a cluster's store may not be reachable here
        print(closing_summary(config, summary, visits), flush=True)
    finally:
        if address:
            ray.shutdown()  # disconnect; the detached supervisor and shards run on
        else:
            bootstrap.shutdown()
    return 0


def closing_summary(config: Config, summary: dict, visits: tuple[int, str] | None = None) -> str:
    """What the run left behind, and where: printed when a watched fleet stops. `visits`: visits_since()."""
    try:
        stored = ray.get(ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE).stats.remote(), timeout=10)
    except (ValueError, ray.exceptions.RayError):
        stored = {}
    where = f"${config.store.url_env}" if config.store.url_env else redact_url(config.store.url)
    sites = len(config.reports.sites)
    counted = "" if visits is None else (f"{visits[0]} visits at {sites} site{'s' * (sites != 1)} since {visits[1]} "
                                         f"({config.reports.timezone}); ")
    return (f"matakota: stopped; {summary.get('online', 0)}/{summary.get('cameras', 0)} cameras online at the end, "
            f"{summary.get('detections', 0)} detections; {counted}stored {stored.get('counts_stored', 0)} count "
            f"records, {stored.get('events_stored', 0)} events, {stored.get('levels_stored', 0)} water levels in "
            f"{where}")


def visits_since(config: Config, started: float, now: float | None = None) -> tuple[int, str] | None:
    """The visits the sites' counting plans counted in the local hours from `started`'s to `now`'s, and the first
    hour (`HH:00`); None without a plan or a store to read (a SQLite file that is not there is never created)."""
    from matakota.store import StoreError, open_store

    if not config.reports.sites:
        return None
    try:
        url = config.store.resolved_url()
        if not is_postgres_url(url) and not Path(url.removeprefix("sqlite:///")).expanduser().is_file():
            return None
        with open_store(url) as store:
            rows = store.visits(start=started, end=now or time.time(), bucket="hour",
                                timezone=config.reports.timezone, per_site=False)
    except (StoreError, ValueError, OSError):
        return None
    first_hour = datetime.fromtimestamp(started, zone(config.reports.timezone)).strftime("%H:00")
    return sum(row.visits for row in rows), first_hour


def run_detached(config: Config, address: str, deploy: bool) -> int:
    """Start the fleet on a cluster and keep it started (a sidecar's job): if the cluster is rebuilt and the
    supervisor is gone, start it again. SIGTERM ends this process and leaves the fleet running."""
    bootstrap.start_ray(address, wait_s=600)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # after ray.init, which installs its own handler
    bootstrap.serve_app(config, deploy)
    while True:
        bootstrap.start_fleet(config)  # idempotent: finds the running supervisor, adopts running shards
        print(f"matakota: fleet of {len(config.fleet.cameras)} configured cameras is running", flush=True)
        time.sleep(30)
