"""`matakota …`: the command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path

from matakota.config import ConfigError, load_config
from matakota.core import VERSION, assets

EXIT_USAGE = 2
METRICS_PORT_HELP = "port of the local Ray's Prometheus /metrics (default from config metrics.port: 8080)"


def _fail(message: str, code: int = 1) -> int:
    print(f"matakota: {message}", file=sys.stderr)
    return code


def cmd_assets(args) -> int:
    if args.action == "list":
        for asset in assets.manifest().values():
            print(f"{asset.name:32} {asset.licence:12} {asset.url}")
        return 0
    names = args.names or list(assets.manifest())
    for name in names:
        path = assets.fetch(name, mirror=args.mirror)
        print(f"{name}: {path}")
    return 0


def cmd_detect(args) -> int:
    from matakota.models.yolox import YoloxDetector
    from matakota.video.media import batched, read_frames

    config = load_config(args.config).detector
    detector = YoloxDetector.from_config(config)
    for path in args.files:
        for chunk in batched(read_frames(Path(path), args.fps), config.max_batch_size):
            for frame, detections in zip(chunk, detector.detect([f.image for f in chunk])):
                height, width = frame.image.shape[:2]
                record = {"source": frame.source, "frame": frame.index, "pts_s": round(frame.pts_s, 3),
                          "width": width, "height": height, "detections": detections.to_json()}
                if args.json:
                    print(json.dumps(record), flush=True)
                else:
                    found = ", ".join(f"{d['label']} {d['score']:.2f}" for d in record["detections"]) or "-"
                    print(f"{frame.source} #{frame.index} t={frame.pts_s:.2f}s: {found}", flush=True)
    return 0


def cmd_analyze(args) -> int:
    from matakota.cluster.analyze import analyze_video, format_report
    from matakota.config import CameraAnalyticsConfig, load_file
    from matakota.models.yolox import YoloxDetector
    from matakota.video.media import MediaError

    camera = load_file(CameraAnalyticsConfig, args.camera)
    if not args.recording.is_file():
        raise MediaError(f"{args.recording}: no such video file")
    detector = YoloxDetector.from_config(load_config(args.config).detector)
    result = analyze_video(args.recording, camera, detector, args.snapshots)
    print(json.dumps(result) if args.json else format_report(result), flush=True)
    return 0


def _wait_for_interrupt(duration: float | None) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.monotonic() + duration if duration else float("inf")
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def with_ports(config, args):
    """The config with the command line's --port and --metrics-port, validated like the file (ConfigError)."""
    from matakota.config.load import validate

    sections = {}
    if getattr(args, "port", None):
        sections["api"] = {**dict(config.api), "port": args.port}
    if args.metrics_port is not None:
        sections["metrics"] = {**dict(config.metrics), "port": args.metrics_port}
    return validate(type(config), {**dict(config), **sections}, "command line") if sections else config


METRICS_PORT_WITH_ADDRESS = ("--metrics-port applies to a local Ray only; the cluster at --address serves metrics on "
                             "its own port (docs/observability.md)")


def cmd_serve(args) -> int:
    from matakota.cluster import bootstrap

    if args.metrics_port is not None and args.address:
        return _fail(METRICS_PORT_WITH_ADDRESS, EXIT_USAGE)
    config = with_ports(load_config(args.config), args)
    from matakota.models.yolox import resolve_model

    resolve_model(config.detector.model)  # fetch (or find) the model here: a missing asset fails before Ray starts
    metrics_url = bootstrap.start_ray(args.address, metrics_port=None if args.address else config.metrics.port)
    try:
        bootstrap.deploy(config)
        print(f"matakota {VERSION} serving on http://{config.api.host}:{config.api.port} (Ctrl-C to stop)", flush=True)
        if metrics_url:
            print(f"metrics: {metrics_url}", flush=True)
        _wait_for_interrupt(args.duration)
    finally:
        bootstrap.shutdown()
    return 0


def cmd_demo(args) -> int:
    from matakota.cluster.demo import run_demo

    return run_demo(cameras=args.cameras, duration=args.duration, port=args.port, metrics_port=args.metrics_port)


def cmd_up(args) -> int:
    from matakota.cluster.up import run_detached, run_fleet

    if args.metrics_port is not None and args.address:
        return _fail(METRICS_PORT_WITH_ADDRESS, EXIT_USAGE)
    config = with_ports(load_config(args.config), args)
    if args.detach:
        if not args.address:
            return _fail("--detach needs --address (a cluster to leave the fleet running on)", EXIT_USAGE)
        return run_detached(config, args.address, deploy=not args.no_deploy)
    return run_fleet(config, args.duration, args.address, args.reset, deploy=not args.no_deploy)


def cmd_check(args) -> int:
    config = load_config(args.config)
    print(f"{args.config}: ok ({len(config.fleet.cameras)} cameras)")
    return 0


def cmd_metrics(args) -> int:
    from matakota.core import metrics

    if args.markdown:
        print(metrics.markdown(), end="")
    else:
        for spec in metrics.CATALOGUE:
            print(f"{spec.exported:58} {spec.kind:9} {','.join(spec.labels)}")
    return 0


def _open_store(args):
    """The store named by --store, else by the config's store section (its url, or url_env)."""
    from matakota.config import is_postgres_url
    from matakota.store import open_store

    url = args.store or load_config(args.config).store.resolved_url()
    path = Path(url.removeprefix("sqlite:///")).expanduser()
    if not is_postgres_url(url) and not path.is_file():
        raise FileNotFoundError(f"no store at {path} (pass --store or --config)")  # opening would create an empty one
    return open_store(url)


def cmd_evidence(args) -> int:
    from matakota.analytics.case_evidence import verify_package
    from matakota.config.evidence import EvidenceConfig, EvidenceKeyError

    if args.config is not None:
        evidence = load_config(args.config).fleet.shards.evidence
    else:
        evidence = EvidenceConfig(**({"key_env": args.key_env} if args.key_env else {}),
                                  **({"key_file": args.key_file} if args.key_file else {}))
    try:
        key = evidence.key()
    except EvidenceKeyError as error:
        return _fail(f"no key to check the signature: {error}", EXIT_USAGE)
    if not args.package.is_file():
        return _fail(f"{args.package}: no such file", EXIT_USAGE)
    check = verify_package(args.package.read_bytes(), key)
    if not check.ok:
        return _fail(f"{args.package}: NOT intact\n" + "\n".join(f"  {p}" for p in check.problems))
    body = check.manifest
    print(f"{args.package}: intact, signed with key {body['key_id']!r}: {body['plate']} ({body['class']}) in zone "
          f"{body['zone']} of {body['camera']} ({body['site']}), arrived {body['arrival']}, over the limit "
          f"{body['limit']}; {len(body['files'])} files")
    return 0


def cmd_audit(args) -> int:
    from matakota.store import StoreError
    from matakota.store.audit import parse_head

    try:
        expect = parse_head(args.expect_head) if getattr(args, "expect_head", None) else None
    except ValueError as error:
        return _fail(f"--expect-head: {error}", EXIT_USAGE)
    try:
        with _open_store(args) as store:
            if args.action == "list":
                for entry in store.audit(limit=args.limit).items:
                    print(json.dumps(entry.to_json()), flush=True)
                return 0
            check = store.audit_verify(expect_head=expect)
    except (ValueError, StoreError) as error:
        return _fail(str(error))
    if not check.ok:
        return _fail(f"audit log broken at seq {check.first_bad_seq}: {check.reason} "
                     f"({check.rows} rows before it check out)")
    print(f"audit log intact: {check.rows} rows, head {check.head_seq} {check.head_hash}")
    return 0


def cmd_report(args) -> int:
    from matakota.core.calendar import parse_period, zone
    from matakota.store import StoreError
    from matakota.store.reports import report_csv, report_markdown, visit_report

    reports = load_config(args.config).reports
    timezone = args.timezone or reports.timezone
    try:
        period = parse_period(args.period, zone(timezone))
    except ValueError as error:
        return _fail(f"--period: {error}" if "period" in str(error) else f"--timezone: {error}", EXIT_USAGE)
    try:
        with _open_store(args) as store:
            report = visit_report(store, period, args.site, {s: plan.title for s, plan in reports.sites.items()})
    except (ValueError, StoreError) as error:
        return _fail(str(error))
    writers = {"json": lambda r: json.dumps(r, indent=2, ensure_ascii=False) + "\n", "csv": report_csv,
               "md": report_markdown}
    sys.stdout.write(writers[args.format](report))
    return 0


def cmd_export(args) -> int:
    from matakota.cluster.export import run_export

    return run_export(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="matakota", description="City-scale CCTV analytics on Ray.")
    root.add_argument("--version", action="version", version=f"matakota {VERSION}")
    root.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = root.add_subparsers(dest="command", required=True)

    p = commands.add_parser("assets", help="fetch the model and demo clips by URL + sha256 (or from a mirror)")
    p.add_argument("action", choices=["fetch", "list"])
    p.add_argument("names", nargs="*", help="assets to fetch (default: all)")
    p.add_argument("--mirror", type=Path, help="directory holding the files (air-gapped; or MATAKOTA_ASSET_MIRROR)")
    p.set_defaults(run=cmd_assets)

    p = commands.add_parser("detect", help="detections in images and videos, with the service's model code")
    p.add_argument("files", nargs="+", help="JPEG/PNG images or video files")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument("--fps", type=float, help="sample videos at this rate (default: every frame)")
    p.add_argument("--config", type=Path, help="matakota YAML config (detector section)")
    p.set_defaults(run=cmd_detect)

    p = commands.add_parser("analyze", help="a camera's zone/line analytics on a recorded video (times from its start)")
    p.add_argument("recording", type=Path, help="video file")
    p.add_argument("--camera", type=Path, required=True, help="camera analytics YAML (zones, lines, rules, gauge, fps)")
    p.add_argument("--json", action="store_true", help="one JSON object: zones, lines, events, gauge levels")
    p.add_argument("--config", type=Path, help="matakota YAML config (detector section)")
    p.add_argument("--snapshots", type=Path, help="write event evidence JPEGs (full frame + crop) here")
    p.set_defaults(run=cmd_analyze)

    p = commands.add_parser("serve", help="local Ray + Serve: the Detector and the HTTP API")
    p.add_argument("--port", type=int, help="HTTP port (default from config: 8000)")
    p.add_argument("--metrics-port", type=int, help=METRICS_PORT_HELP)
    p.add_argument("--config", type=Path, help="matakota YAML config")
    p.add_argument("--address", help="join this Ray cluster instead of starting a local one")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(run=cmd_serve)

    p = commands.add_parser("demo", help="the demo fleet: cameras from the demo clips, end to end, live view")
    p.add_argument("--cameras", type=int, default=8, help="number of cameras (default 8)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (default 0: until Ctrl-C)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--metrics-port", type=int, help=METRICS_PORT_HELP)
    p.set_defaults(run=cmd_demo)

    p = commands.add_parser("up", help="run a configured fleet: Detector, API, supervisor and shards")
    p.add_argument("config", type=Path, help="matakota YAML config with a fleet section")
    p.add_argument("--address", help="join this Ray cluster instead of starting a local one")
    p.add_argument("--metrics-port", type=int, help=METRICS_PORT_HELP)
    p.add_argument("--duration", type=float, help="stop watching after this many seconds")
    p.add_argument("--reset", action="store_true", help="re-seed the fleet's cameras from the file (drops API changes)")
    p.add_argument("--no-deploy", action="store_true",
                   help="do not deploy the Serve app; wait for the one already there (e.g. KubeRay's RayService)")
    p.add_argument("--detach", action="store_true",
                   help="keep the fleet started on the cluster and leave it running on exit (Kubernetes sidecar)")
    p.set_defaults(run=cmd_up)

    p = commands.add_parser("metrics", help="the metrics catalogue (what Prometheus scrapes)")
    p.add_argument("--markdown", action="store_true", help="as the Markdown table in docs/metrics.md")
    p.set_defaults(run=cmd_metrics)

    p = commands.add_parser("audit", help="the audit log: verify its hash chain, list recent entries")
    actions = p.add_subparsers(dest="action", required=True)
    where = argparse.ArgumentParser(add_help=False)
    source = where.add_mutually_exclusive_group()
    source.add_argument("--config", type=Path, help="matakota YAML config (its store section)")
    source.add_argument("--store", help="the store itself: a SQLite path or a postgresql:// DSN")
    a = actions.add_parser("verify", parents=[where],
                           help="check the chain (exit 1 naming the first bad row); prints the head to keep")
    a.add_argument("--expect-head", metavar="SEQ:HASH",
                   help="a head printed earlier: that row must still be there with that hash (catches the newest "
                        "rows deleted)")
    a = actions.add_parser("list", parents=[where], help="recent entries, newest first, as JSON lines")
    a.add_argument("--limit", type=int, default=20, help="how many (default 20, at most 1000)")
    p.set_defaults(run=cmd_audit)

    p = commands.add_parser("report", help="a period's visit report (month by day, year by month, day by hour)")
    actions = p.add_subparsers(dest="report", required=True)
    a = actions.add_parser("visits", parents=[where], help="visits, busiest days and hours, dwell, peak, change")
    a.add_argument("--period", required=True,
                   help="2026-11, 2026-W47, 2026-11-05, 2026, yesterday, last-week or last-month (local time)")
    a.add_argument("--site", action="append", help="a site (repeat; none: every site, the city)")
    a.add_argument("--format", choices=("md", "csv", "json"), default="md", help="md (default), csv (the rows) or json")
    a.add_argument("--timezone", help="IANA zone of days and months (default: the config's reports.timezone, "
                                      "Asia/Jakarta)")
    p.set_defaults(run=cmd_report)

    p = commands.add_parser("export", help="a period's visits, counts or incidents as open data (Frictionless Data "
                            "Package), optionally published to the city's CKAN portal")
    p.add_argument("--dataset", nargs="+", required=True, choices=["visits", "counts", "events"],
                   help="what to export (one package each)")
    p.add_argument("--period", required=True,
                   help="2026-11, 2026-W47, 2026-11-05, 2026, or yesterday, last-week, last-month (local time)")
    p.add_argument("--bucket", choices=["day", "hour"], default="day", help="rows of counts per local day or hour")
    p.add_argument("--out", type=Path, required=True, help="folder; each package goes in OUT/<package name>/")
    p.add_argument("--config", type=Path, help="matakota YAML config (reports: time zone, sites, open_data)")
    p.add_argument("--store", help="the store (SQLite path or postgresql:// DSN) instead of the config's")
    p.add_argument("--publish", action="store_true",
                   help="push each package to reports.open_data.ckan_url (API key from reports.open_data.api_key_env)")
    p.set_defaults(run=cmd_export)

    p = commands.add_parser("evidence", help="parking violations' evidence packages (GET /v1/events/ID/evidence.zip)")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("verify", help="check a package: every file's SHA-256 and the manifest's HMAC (exit 1 "
                                          "naming what was altered)")
    a.add_argument("package", type=Path, metavar="FILE.zip")
    key = a.add_mutually_exclusive_group()
    key.add_argument("--config", type=Path, help="matakota YAML config: the key named by fleet.shards.evidence")
    key.add_argument("--key-env", metavar="NAME", help="environment variable holding the key "
                                                       "(default: MATAKOTA_EVIDENCE_KEY)")
    key.add_argument("--key-file", type=Path, help="file holding the key")
    p.set_defaults(run=cmd_evidence)

    p = commands.add_parser("check", help="validate a config; errors name file, YAML path and reason")
    p.add_argument("config", type=Path)
    p.set_defaults(run=cmd_check)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ConfigError as error:
        return _fail(f"invalid config:\n{error}", EXIT_USAGE)
    except assets.AssetError as error:
        return _fail(str(error))
    except BrokenPipeError:  # output piped into `head` and friends
        sys.stderr.close()
        return 0
    except (OSError, RuntimeError) as error:
        return _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
