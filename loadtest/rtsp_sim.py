"""RTSP camera simulator: K mount points looping H.264 or H.265 files forever, without transcoding.

Two halves in one file:
- the server, run by the SYSTEM python (`/usr/bin/python3`, which has GStreamer's `gi`):
      /usr/bin/python3 loadtest/rtsp_sim.py --mount cam0=clip.mp4 --mount cam1=other.mp4 [--port 0]
          [--count K --file clip.mp4] [--user U --password P]
  It demuxes each file once into memory (access units with their PTS/DTS), and per client feeds an
  `appsrc ! h264parse ! rtph264pay` (or h265) pipeline at the file's native rate, shifting timestamps on every loop
  (B-frames keep their order). Binds to 127.0.0.1 only. It prints `READY port=N` when serving and takes
  commands on stdin, one per line, answering `ok ...` / `err ...`:  `stop NAME` (remove the mount and
  drop its clients, like a camera dying), `start NAME`, `pause NAME` (clients stay
  connected but get no more data: a stall), `quit`.
- `RtspSimulator`, a context manager for pytest in the venv (no `gi` needed there) that spawns the server.
"""
from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SYSTEM_PYTHON = "/usr/bin/python3"
HOST = "127.0.0.1"


def available(python: str = SYSTEM_PYTHON) -> bool:
    """Whether the server half can run here: the system python with GStreamer's RTSP server (`make system-deps`)."""
    return Path(python).exists() and Path("/usr/lib/python3/dist-packages/gi").exists() and any(
        Path("/usr/lib").glob("*/girepository-1.0/GstRtspServer-1.0.typelib"))


# ---------------------------------------------------------------- venv side: the pytest-friendly wrapper
class RtspSimulator:
    """Spawns the simulator subprocess; `with RtspSimulator({"cam0": path}) as sim: sim.url("cam0")`."""

    def __init__(self, mounts: dict[str, str | os.PathLike], *, user: str | None = None,
                 password: str | None = None, python: str = SYSTEM_PYTHON, ready_timeout_s: float = 20.0):
        self.mounts = {name: str(path) for name, path in mounts.items()}
        self.user, self.password = user, password
        self._python, self._ready_timeout_s = python, ready_timeout_s
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self.port: int | None = None

    def __enter__(self) -> RtspSimulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RtspSimulator(port={self.port}, mounts={sorted(self.mounts)}, auth={self.user is not None})"

    def start(self) -> None:
        cmd = [self._python, "-u", str(Path(__file__).resolve()), "--port", "0"]
        for name, path in self.mounts.items():
            cmd += ["--mount", f"{name}={path}"]
        env = dict(os.environ)
        if self.user is not None:  # credentials travel by environment, not argv (visible in `ps`)
            env["RTSP_SIM_USER"], env["RTSP_SIM_PASSWORD"] = self.user, self.password or ""
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, env=env)
        threading.Thread(target=self._pump, name="rtsp-sim-stdout", daemon=True).start()
        line = self._expect("READY", self._ready_timeout_s)
        self.port = int(line.split("port=")[1])

    def url(self, mount: str, *, user: str | None = None, password: str | None = None) -> str:
        """rtsp URL of a mount; credentials default to the simulator's own (pass others to test failures)."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user is not None else ""
        return f"rtsp://{auth}{HOST}:{self.port}/{mount}"

    def stop_mount(self, name: str) -> None:
        self._command(f"stop {name}")

    def start_mount(self, name: str) -> None:
        self._command(f"start {name}")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=3)
        for stream in (proc.stdin, proc.stdout):
            stream.close()

    def pause_mount(self, name: str) -> None:
        """Connected clients stay connected but receive nothing more (a stall); new clients stream."""
        self._command(f"pause {name}")

    def _command(self, line: str) -> None:
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        reply = self._expect("", 10.0)
        if not reply.startswith("ok"):
            raise RuntimeError(f"rtsp simulator: {reply}")

    def _pump(self) -> None:
        for line in self._proc.stdout:
            self._lines.put(line.strip())
        self._lines.put("EOF")

    def _expect(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"rtsp simulator: no {prefix or 'reply'} within {timeout_s}s") from None
            if line == "EOF":
                raise RuntimeError("rtsp simulator exited")
            if line.startswith(prefix) and (prefix or line.startswith(("ok", "err"))):
                return line


# ---------------------------------------------------------------- server side: system python with gi
@dataclass(frozen=True)
class AccessUnit:
    data: bytes
    pts: int  # ns, from the container
    dts: int
    duration: int
    delta: bool  # not a keyframe


@dataclass(frozen=True)
class Clip:
    codec: str  # h264 | h265
    caps: str
    units: tuple[AccessUnit, ...]
    period: int  # ns, one loop of the file


def video_codec(Gst, path: str) -> str:
    """`h264` or `h265`: the caps of the file's first video sample."""
    pipe = Gst.parse_launch(f'filesrc location="{path}" ! qtdemux ! appsink name=sink sync=false')
    pipe.set_state(Gst.State.PLAYING)
    sample = pipe.get_by_name("sink").emit("pull-sample")
    pipe.set_state(Gst.State.NULL)
    caps = sample.get_caps().to_string() if sample else ""
    if not caps.startswith(("video/x-h264", "video/x-h265")):
        raise SystemExit(f"rtsp_sim: no H.264 or H.265 video in {path}")
    return caps.split(",")[0].removeprefix("video/x-")


def load_clip(Gst, path: str) -> Clip:
    """Demux an mp4 into byte-stream access units (parameter sets repeated on every IDR), once, into memory."""
    codec = video_codec(Gst, path)
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! {codec}parse config-interval=-1 '
        f"! video/x-{codec},stream-format=byte-stream,alignment=au ! appsink name=sink sync=false")
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    units, caps = [], None
    while (sample := sink.emit("pull-sample")) is not None:
        buf = sample.get_buffer()
        caps = caps or sample.get_caps().to_string()
        dts = buf.dts if buf.dts != Gst.CLOCK_TIME_NONE else buf.pts
        units.append(AccessUnit(buf.extract_dup(0, buf.get_size()), buf.pts, dts, buf.duration,
                                buf.has_flags(Gst.BufferFlags.DELTA_UNIT)))
    pipe.set_state(Gst.State.NULL)
    if not units:
        raise SystemExit(f"rtsp_sim: no {codec} video in {path}")
    first = min(u.dts for u in units)
    units = [AccessUnit(u.data, u.pts - first, u.dts - first, u.duration, u.delta) for u in units]
    period = max(u.dts for u in units) + units[-1].duration
    return Clip(codec, caps, tuple(units), period)


class Feeder(threading.Thread):
    """Pushes one clip, looped, into one client's appsrc at the clip's native pace."""

    LATENCY_NS = 100_000_000

    def __init__(self, Gst, media, appsrc, clip: Clip):
        super().__init__(daemon=True, name="rtsp-sim-feeder")
        self.Gst, self.media, self.appsrc, self.clip = Gst, media, appsrc, clip
        self.stopped = threading.Event()

    def run(self) -> None:
        Gst, clip = self.Gst, self.clip
        while (clock := self.appsrc.get_clock()) is None and not self.stopped.wait(0.01):
            pass
        if clock is None:
            return
        base = clock.get_time() - self.appsrc.get_base_time() + self.LATENCY_NS
        loop = 0
        while not self.stopped.is_set():
            for unit in clip.units:
                offset = base + loop * clip.period
                wait_ns = offset + unit.dts - (clock.get_time() - self.appsrc.get_base_time()) - self.LATENCY_NS
                if wait_ns > 0 and self.stopped.wait(wait_ns / 1e9):
                    return
                buf = Gst.Buffer.new_wrapped(unit.data)
                buf.pts, buf.dts, buf.duration = offset + unit.pts, offset + unit.dts, unit.duration
                if unit.delta:
                    buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
                if self.appsrc.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    return
            loop += 1


class Simulator:
    def __init__(self, Gst, GstRtspServer, GLib, port: int, auth: tuple[str, str] | None):
        self.Gst, self.R, self.GLib = Gst, GstRtspServer, GLib
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(HOST)
        self.server.set_service(str(port))
        self.factories: dict[str, object] = {}
        self.feeders: dict[str, set[Feeder]] = {}
        self.auth = auth
        if auth:
            self._set_auth(*auth)

    def _set_auth(self, user: str, password: str) -> None:
        R = self.R
        token = R.RTSPToken()
        token.set_string(R.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth = R.RTSPAuth()
        auth.add_basic(R.RTSPAuth.make_basic(user, password), token)
        self.server.set_auth(auth)

    def add_mount(self, name: str, clip: Clip) -> None:
        factory = self.R.RTSPMediaFactory()
        factory.set_launch(f'( appsrc name=src is-live=true format=time do-timestamp=false caps="{clip.caps}" '
                           f"! {clip.codec}parse ! rtp{clip.codec}pay name=pay0 pt=96 config-interval=-1 )")
        factory.set_shared(False)
        if self.auth:
            structure = self.Gst.Structure.from_string(
                "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")[0]
            factory.add_role_from_structure(structure)
        factory.connect("media-configure", self._on_media, name, clip)
        self.factories[name] = factory
        self.feeders.setdefault(name, set())

    def _on_media(self, _factory, media, name: str, clip: Clip) -> None:
        appsrc = media.get_element().get_child_by_name("src")
        feeder = Feeder(self.Gst, media, appsrc, clip)
        self.feeders[name].add(feeder)
        media.connect("unprepared", lambda *_: (feeder.stopped.set(), self.feeders[name].discard(feeder)))
        feeder.start()

    def start_mount(self, name: str) -> None:
        self.server.get_mount_points().add_factory(f"/{name}", self.factories[name])

    def stop_mount(self, name: str) -> None:
        """Like a camera dying: no new sessions, and the running ones lose their connection."""
        self.server.get_mount_points().remove_factory(f"/{name}")
        for feeder in list(self.feeders[name]):
            feeder.stopped.set()
        self.server.client_filter(lambda _s, client, *_: self._drop_if_on(client, name))

    def pause_mount(self, name: str) -> None:
        """Like a camera freezing: connected clients stay connected but get no more data."""
        for feeder in list(self.feeders[name]):
            feeder.stopped.set()

    def _drop_if_on(self, client, name: str):
        hit = []

        def on_session(_client, session, *_):
            if session.get_media(f"/{name}")[0] is not None:
                hit.append(session)
            return self.R.RTSPFilterResult.KEEP

        client.session_filter(on_session)
        if hit:
            client.close()
        return self.R.RTSPFilterResult.KEEP

    def handle(self, line: str) -> str:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "quit":
            self.loop.quit()
            return "ok quit"
        if cmd in ("stop", "start", "pause") and arg in self.factories:
            {"stop": self.stop_mount, "start": self.start_mount, "pause": self.pause_mount}[cmd](arg)
            return f"ok {cmd} {arg}"
        return f"err unknown command or mount: {line.strip()!r}"

    def run(self) -> None:
        for name in self.factories:
            self.start_mount(name)
        self.server.attach(None)
        self.loop = self.GLib.MainLoop()
        self.GLib.io_add_watch(sys.stdin.fileno(), self.GLib.IO_IN | self.GLib.IO_HUP, self._on_stdin)
        print(f"READY port={self.server.get_bound_port()}", flush=True)
        self.loop.run()

    def _on_stdin(self, _fd, condition) -> bool:
        line = sys.stdin.readline()
        if not line:  # parent went away
            self.loop.quit()
            return False
        print(self.handle(line), flush=True)
        return True


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8554, help="0 picks a free port (printed in READY)")
    p.add_argument("--mount", action="append", default=[], metavar="NAME=FILE")
    p.add_argument("--count", type=int, default=0, help="with --file: mounts cam0..cam{K-1}")
    p.add_argument("--file", help="clip for --count")
    p.add_argument("--user", default=os.environ.get("RTSP_SIM_USER"))
    p.add_argument("--password", default=os.environ.get("RTSP_SIM_PASSWORD"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
    Gst.init(None)
    mounts = dict(m.split("=", 1) for m in args.mount)
    mounts.update({f"cam{i}": args.file for i in range(args.count)})
    if not mounts:
        raise SystemExit("rtsp_sim: give --mount NAME=FILE or --count K --file FILE")
    auth = (args.user, args.password or "") if args.user else None
    sim = Simulator(Gst, GstRtspServer, GLib, args.port, auth)
    clips: dict[str, Clip] = {}
    for name, path in mounts.items():
        clips.setdefault(path, load_clip(Gst, path))
        sim.add_mount(name, clips[path])
    sim.run()


if __name__ == "__main__":
    main()
