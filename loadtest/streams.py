"""City camera stream profiles, encoded with FFmpeg from the demo clip (upscaled; no video committed).

    .venv/bin/python -m loadtest.streams [--profiles 1080p25-h264-gop2,...]    # encode (cached) and list them

City cameras send 720p, 1080p or 4 MP (2560×1440) H.264/H.265 at 15–25 fps, constant bitrate, no B-frames, a
keyframe every 1–4 s, with sensor noise on a mostly static scene. Each profile re-encodes the first
`SECONDS` of the demo clip like that (the clip's 10 fps repeated up to the profile's rate, light temporal noise
so that repeated frames still cost what a camera's do) and is cached under the asset directory, named by the
profile, the encoder settings and the source's digest. The RTSP simulator (loadtest/rtsp_sim.py) serves them.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from matakota.core import assets
from matakota.core.settings import settings

SOURCE = "one-by-one-person-detection"
SECONDS = 12  # whole GOPs of 1, 2 and 4 s; the simulator loops it
NOISE = 5  # FFmpeg `noise` strength (temporal): a camera sensor's grain


@dataclass(frozen=True)
class Profile:
    width: int
    height: int
    fps: int
    codec: str  # h264 | h265
    gop_s: int
    kbps: int  # constant bitrate, as cameras are set

    @property
    def name(self) -> str:
        return f"{self.height}p{self.fps}-{self.codec}-gop{self.gop_s}" if self.height != 1440 else \
            f"4mp{self.fps}-{self.codec}-gop{self.gop_s}"

    @property
    def resolution(self) -> str:
        return "4mp" if self.height == 1440 else f"{self.height}p"

    @property
    def mbps(self) -> float:
        return self.kbps / 1000


# kbit/s a city camera is typically set to; H.265 takes about half of H.264's for the same picture
BITRATES = {("720p", "h264"): 2000, ("720p", "h265"): 1000, ("1080p", "h264"): 4000, ("1080p", "h265"): 2000,
            ("4mp", "h264"): 6000, ("4mp", "h265"): 3000}
SIZES = {"720p": (1280, 720, 25), "1080p": (1920, 1080, 25), "4mp": (2560, 1440, 20)}
PROFILES = {p.name: p for p in (Profile(*SIZES[res], codec, gop, BITRATES[res, codec])
                                for res in SIZES for codec in ("h264", "h265") for gop in (1, 2, 4))}


def _encoder_args(profile: Profile) -> list[str]:
    gop = profile.fps * profile.gop_s
    rate = ["-b:v", f"{profile.kbps}k", "-maxrate", f"{profile.kbps}k", "-bufsize", f"{profile.kbps}k"]
    if profile.codec == "h264":
        return ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "0", "-g", str(gop),
                "-keyint_min", str(gop), "-sc_threshold", "0", *rate]
    return ["-c:v", "libx265", "-preset", "superfast", "-tag:v", "hvc1", *rate, "-x265-params",
            f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:log-level=error"]


def _command(profile: Profile, source: Path, out: Path) -> list[str]:
    scale = f"scale={profile.width}:{profile.height}:flags=bicubic,fps={profile.fps},noise=alls={NOISE}:allf=t"
    return ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-t", str(SECONDS), "-i", str(source), "-an",
            "-vf", scale, "-pix_fmt", "yuv420p", *_encoder_args(profile), "-movflags", "+faststart", str(out)]


def stream_file(profile: Profile | str, cache: Path | None = None) -> Path:
    """The profile's file, encoded on first use (seconds to a minute or two on 2 cores) and cached."""
    profile = PROFILES[profile] if isinstance(profile, str) else profile
    source = assets.fetch(SOURCE)
    command = _command(profile, source, Path("OUT"))
    key = hashlib.sha256(" ".join(command[:-1]).encode() + assets.sha256_of(source).encode()).hexdigest()[:10]
    folder = cache or settings().asset_dir / "streams"
    target = folder / f"{profile.name}-{key}.mp4"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part.mp4")
        subprocess.run(_command(profile, source, partial), check=True)
        partial.rename(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated profile names")
    args = parser.parse_args()
    for name in args.profiles.split(","):
        started = time.perf_counter()
        path = stream_file(name)
        print(f"{name:22} {path.stat().st_size * 8 / SECONDS / 1e6:5.2f} Mbit/s  {path}  "
              f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
