"""A parking violation's evidence package: what the transport agency acts on, and proof it was not altered.

Files (docs/architecture.md, "Parking cases and plates"):
- `arrival.jpg`: the frame the vehicle was first seen standing in; `limit.jpg`: the frame it passed the limit in.
  Both have the vehicle boxed and a caption burned in: time (local, e.g. WIB), camera, site, location, zone,
  vehicle class, plate and how long it had stood (at the photo's own time). People in both are pixelated.
- `vehicle.jpg`: the vehicle at the limit, cropped; `plate.jpg`: the plate as read (absent when `unread`).
- `manifest.json`: the case (camera, site, location, zone, class, plate and its confidence, arrival, limit,
  the sign's rule) and the SHA-256 and size of every file above.
- `signature.json`: the SHA-256 of `manifest.json` and its HMAC-SHA256 under the evidence key
  (config/evidence.py), with the key's id. Changing any byte of any file breaks a digest; rewriting the manifest
  to match breaks the HMAC, which only the key's holder can recompute.
`verify_package` checks all of it (`matakota evidence verify FILE.zip`).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from matakota.analytics.evidence import blur_boxes, render_evidence

MANIFEST, SIGNATURE = "manifest.json", "signature.json"
FORMAT = "matakota-evidence/1"
CAPTION_BG, CAPTION_FG = (0, 0, 0), (255, 255, 255)
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member times: the same case always zips to the same bytes


@dataclass(frozen=True)
class CaseFacts:
    """What the captions and the manifest say about a violation."""

    event_id: str
    incident_id: str
    camera: str
    site: str
    location: dict | None  # {lat, lon}
    zone: str
    vehicle_class: str
    plate: str  # `unread` when unread
    plate_confidence: float
    arrival_t: float  # first seen standing (the stop's start)
    limit_t: float
    rule: dict  # the sign: limit_s, grace_s, hours, days
    timezone: str = "Asia/Jakarta"

    def local(self, t: float) -> str:
        moment = datetime.fromtimestamp(t, ZoneInfo(self.timezone))
        return f"{moment:%Y-%m-%d %H:%M:%S} {zone_abbreviation(moment)}"


def zone_abbreviation(moment: datetime) -> str:
    name = moment.tzname() or ""
    return {"+07": "WIB", "+08": "WITA", "+09": "WIT"}.get(name, name)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def caption_lines(facts: CaseFacts, t: float, title: str) -> list[str]:
    place = facts.site + (f"  {facts.location['lat']:.5f}, {facts.location['lon']:.5f}" if facts.location else "")
    return [f"{title}  {facts.local(t)}",
            f"camera {facts.camera}  site {place}",
            f"zone {facts.zone}  {facts.vehicle_class}  plate {facts.plate}  stood {_duration(t - facts.arrival_t)}"]


def burn_caption(frame_bgr: np.ndarray, lines: list[str]) -> np.ndarray:
    """The frame with a black band below it carrying `lines` in white (nothing of the picture is covered)."""
    height, width = frame_bgr.shape[:2]
    scale = max(0.4, width / 1400)
    line_h = int(round(26 * scale / 0.55))
    band = np.full((line_h * len(lines) + line_h // 2, width, 3), CAPTION_BG, np.uint8)
    for row, text in enumerate(lines):
        cv2.putText(band, text, (int(8 * scale / 0.55), line_h * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    CAPTION_FG, max(1, round(scale * 2)), cv2.LINE_AA)
    return np.vstack([frame_bgr, band])


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def _decoded(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def _captioned(jpeg: bytes, lines: list[str]) -> bytes:
    return _jpeg(burn_caption(_decoded(jpeg), lines))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def arrival_photo(frame_bgr: np.ndarray, people=()) -> bytes:
    """The frame a vehicle was first seen standing in, people pixelated, as JPEG: what a parked spot keeps until
    its case (tens of kB, where the frame itself is ~6 MB at 1080p)."""
    people = list(people)
    return _jpeg(blur_boxes(frame_bgr, people) if people else frame_bgr)


def case_files(facts: CaseFacts, limit_frame: np.ndarray, box, limit_photo_t: float, arrival_jpeg: bytes | None,
               arrival_box, arrival_photo_t: float, plate_image: np.ndarray | None, people=()) -> dict[str, bytes]:
    """The package's pictures, as JPEG bytes by file name; `limit_photo_t` and `arrival_photo_t`: when each photo
    was taken (their captions' time); `arrival_jpeg`: `arrival_photo`'s, people already pixelated."""
    people = list(people)
    shown = blur_boxes(limit_frame, people) if people else limit_frame
    limit_full, vehicle = render_evidence(shown, box, quality=90)
    files = {"limit.jpg": _captioned(limit_full, caption_lines(facts, limit_photo_t, "AT LIMIT")),
             "vehicle.jpg": vehicle}
    if arrival_jpeg is not None:
        arrival_full, _ = render_evidence(_decoded(arrival_jpeg), arrival_box, quality=90)
        files["arrival.jpg"] = _captioned(arrival_full, caption_lines(facts, arrival_photo_t, "ARRIVAL"))
    if plate_image is not None and plate_image.size:
        files["plate.jpg"] = _jpeg(plate_image, 95)
    return files


def manifest(facts: CaseFacts, files: dict[str, bytes], key_id: str) -> bytes:
    """The manifest's bytes (canonical JSON: sorted keys, no spaces)."""
    body = {
        "format": FORMAT, "event_id": facts.event_id, "incident_id": facts.incident_id, "camera": facts.camera,
        "site": facts.site, "location": facts.location, "zone": facts.zone, "class": facts.vehicle_class,
        "plate": facts.plate, "plate_confidence": round(facts.plate_confidence, 3),
        "arrival": facts.local(facts.arrival_t), "arrival_t": round(facts.arrival_t, 3),
        "limit": facts.local(facts.limit_t), "limit_t": round(facts.limit_t, 3),
        "stood_s_at_limit": round(facts.limit_t - facts.arrival_t, 3), "rule": facts.rule, "key_id": key_id,
        "files": {name: {"sha256": sha256(data), "bytes": len(data)} for name, data in sorted(files.items())},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signature(manifest_bytes: bytes, key: bytes | None, key_id: str) -> bytes:
    """`signature.json`: the manifest's SHA-256 and HMAC-SHA256 under `key` (null without a key: unsigned)."""
    mac = None if key is None else hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    return json.dumps({"manifest_sha256": sha256(manifest_bytes), "hmac_sha256": mac, "key_id": key_id},
                      sort_keys=True, separators=(",", ":")).encode()


def build_package(facts: CaseFacts, files: dict[str, bytes], key: bytes | None, key_id: str) -> dict[str, bytes]:
    """Every file of the package, manifest and signature included."""
    manifest_bytes = manifest(facts, files, key_id)
    return {**files, MANIFEST: manifest_bytes, SIGNATURE: signature(manifest_bytes, key, key_id)}


def package_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), files[name])
    return out.getvalue()


@dataclass(frozen=True)
class Verification:
    problems: tuple[str, ...]
    manifest: dict | None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(data: bytes, key: bytes | None) -> Verification:
    """Check a package zip: every file's digest against the manifest, no file unlisted, the manifest's digest and
    HMAC against the signature (under `key`). Each problem names the file. A zip holding a name twice (which copy
    would a reader see?) or a manifest of another shape is refused, saying so."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                return Verification(tuple(f"{name}: in the zip more than once (refused: a package holds each file "
                                          "once)" for name in twice), None)
            files = {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, NotImplementedError) as error:
        return Verification((f"not a readable zip: {error}",), None)
    if MANIFEST not in files or SIGNATURE not in files:
        return Verification((f"{MANIFEST} or {SIGNATURE} is missing",), None)
    problems = []
    try:
        body = json.loads(files[MANIFEST])
        signed = json.loads(files[SIGNATURE])
    except ValueError:
        return Verification((f"{MANIFEST} or {SIGNATURE} is not JSON",), None)
    listed = body.get("files") if isinstance(body, dict) else None
    if not isinstance(signed, dict) or not isinstance(listed, dict) or not all(
            isinstance(entry, dict) for entry in listed.values()):
        return Verification((f"{MANIFEST} or {SIGNATURE} is not the expected JSON (a manifest's `files` maps each "
                             "name to its sha256 and bytes)",), None)
    if signed.get("manifest_sha256") != sha256(files[MANIFEST]):
        problems.append(f"{MANIFEST}: its SHA-256 does not match {SIGNATURE}")
    if signed.get("hmac_sha256") is None:
        problems.append(f"{SIGNATURE}: unsigned (no evidence key was configured when it was made)")
    elif key is None:
        problems.append(f"{SIGNATURE}: no key given to check the HMAC (key id {signed.get('key_id')!r})")
    elif not hmac.compare_digest(hmac.new(key, files[MANIFEST], hashlib.sha256).hexdigest(),
                                 str(signed["hmac_sha256"])):
        problems.append(f"{MANIFEST}: HMAC does not match (altered, or signed with another key than "
                        f"{signed.get('key_id')!r})")
    for name, expected in sorted(listed.items()):
        if name not in files:
            problems.append(f"{name}: listed in the manifest but missing")
        elif sha256(files[name]) != expected.get("sha256"):
            problems.append(f"{name}: SHA-256 does not match the manifest (altered)")
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name}: not listed in the manifest")
    return Verification(tuple(problems), body)
