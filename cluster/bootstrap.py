"""Start or join Ray, deploy the Serve application on it, start and stop the fleet's actors."""

from __future__ import annotations

import errno
import logging
import socket
import time

import ray
from ray import serve

from matakota.config import Config
from matakota.core.names import (
    APP_NAME,
    DETECTOR_NAME,
    EVENT_SINK_NAME,
    NAMESPACE,
    ON_HEAD_NODE,
    SHARD_PREFIX,
    SUPERVISOR_NAME,
)
from matakota.serve.app import build_app

log = logging.getLogger(__name__)


class PortInUseError(RuntimeError):
    """A port matakota was told to serve on is taken by another process."""


def start_ray(address: str | None = None, num_cpus: int | None = None, wait_s: float = 0.0,
              metrics_port: int | None = None) -> str | None:
    """Join the cluster at `address` (retrying for up to `wait_s` while its head starts), or start a local one
    (dashboard off: it runs any code sent to it) that serves its Prometheus metrics on `metrics_port` (None: a port
    Ray picks). Returns the local Ray's metrics URL when its port was given; None when joining a cluster (its nodes
    keep their own port) or when Ray was already running."""
    if ray.is_initialized():
        return None
    if not address:
        if metrics_port is not None:
            ensure_port_free(metrics_port, "metrics.port")
        ray.init(num_cpus=num_cpus, namespace=NAMESPACE, include_dashboard=False, log_to_driver=False,
                 _metrics_export_port=metrics_port)
        return None if metrics_port is None else f"http://127.0.0.1:{metrics_port}/metrics"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
            return None
        except (ConnectionError, RuntimeError) as error:
            if time.monotonic() > deadline:
                raise
            log.warning("Ray at %s not reachable yet (%s); retrying", address, type(error).__name__)
            time.sleep(5)


def ensure_port_free(port: int, field: str) -> None:
    """PortInUseError naming the port and the config field that chose it when something listens on it (Ray would
    otherwise time out starting, after ~30 s, without saying why)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            probe.bind(("", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise PortInUseError(f"port {port} ({field}) is already in use on this machine: stop what listens on "
                                 f"it or choose another port for {field}") from None


def serve_app(config: Config, ours: bool) -> None:
    """Deploy the application (`ours`), or wait for the one someone else deploys (KubeRay's RayService)."""
    if ours:
        deploy(config)
    else:
        wait_for_app()


def wait_for_app(timeout_s: float = 600.0) -> None:
    """Wait until the Serve application (deployed by someone else, e.g. KubeRay's RayService) is running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app = serve.status().applications.get(APP_NAME)
        if app is not None and app.status == "RUNNING":
            return
        time.sleep(5)
    raise RuntimeError(f"the Serve application {APP_NAME!r} is not running after {timeout_s:.0f}s")


def deploy(config: Config):
    """Deploy (or update) the application and wait until it is running; returns the API ingress handle."""
    serve.start(
        http_options={"host": config.api.host, "port": config.api.port},
        logging_config={"enable_access_log": False},
    )
    return serve.run(
        build_app(config),
        name=APP_NAME,
        route_prefix="/",
        blocking=False,
        logging_config={"enable_access_log": False, "log_level": config.log_level},
    )


def detector_handle():
    return serve.get_deployment_handle(DETECTOR_NAME, app_name=APP_NAME)


def shutdown() -> None:
    if ray.is_initialized():
        stop_fleet()
        serve.shutdown()
        ray.shutdown()


def start_fleet(config: Config, reset: bool = False):
    """Start (or find) the FleetSupervisor and wait until every camera is placed on a shard.

    The config's cameras seed the fleet's desired state when there is none yet (or with `reset`); after that
    the fleet's cameras change through the API, and a supervisor restart keeps those changes.
    """
    from matakota.actors import desired_state
    from matakota.actors.supervisor import FleetSupervisor

    sink = start_sink(config)
    ray.get(sink.check_health.remote())
    if reset or desired_state.load() is None:
        desired_state.save({camera.id: camera for camera in config.fleet.cameras})
    supervisor = FleetSupervisor.options(
        name=SUPERVISOR_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True, num_cpus=0,
        resources=ON_HEAD_NODE,
    ).remote(config.fleet.model_dump(mode="json"), APP_NAME)
    ray.get(supervisor.start.remote())
    return supervisor


def start_sink(config: Config, name: str = EVENT_SINK_NAME):
    """Start the (detached) EventSink, or find the running one, and hand it the config's time zone and counting
    plans: one that outlived the config it was started with rolls up by the current one from now on."""
    from matakota.actors.event_sink import start_event_sink

    plan = config.counting_plan()
    sink = start_event_sink(config.store, config.outputs, name=name, reports=config.reports, plan=plan,
                            lifetime="detached")
    ray.get(sink.configure.remote(config.reports, plan))
    return sink


def stop_fleet(forget: bool = True) -> None:
    """Stop the supervisor, its shards (they hand their outboxes to the sink) and then the sink;
    `forget` also drops the fleet's desired state."""
    try:
        supervisor = ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE)
        ray.get(supervisor.stop.remote(forget), timeout=60)
        kill_and_wait(SUPERVISOR_NAME)
    except ValueError:
        pass
    shards = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
              if a["namespace"] == NAMESPACE and a["name"].startswith(SHARD_PREFIX)]
    for name in [*shards, EVENT_SINK_NAME]:
        kill_and_wait(name)


def kill_and_wait(name: str, timeout_s: float = 30.0) -> None:
    """Kill a named actor and wait until its name is free (`ray.kill` returns before the actor is gone)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
        except ValueError:
            return
        time.sleep(0.2)
    raise RuntimeError(f"actor {name!r} is still alive {timeout_s:.0f}s after ray.kill")
