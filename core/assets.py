"""Model and demo-clip assets: pinned by URL + sha256 in `core/assets.toml`, fetched or copied from a mirror.

A file is only ever put in place by an atomic rename after its digest checked out, so a failed or interrupted
fetch never leaves a half-written file where a good one is expected.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from matakota.core.settings import settings

CHUNK = 1 << 20


class AssetError(RuntimeError):
    """An asset could not be fetched or failed its digest check."""


@dataclass(frozen=True)
class Asset:
    name: str
    file: str
    url: str
    sha256: tuple[str, ...]  # every accepted digest
    licence: str
    attribution: str


@cache
def manifest() -> dict[str, Asset]:
    text = resources.files("matakota.core").joinpath("assets.toml").read_text()
    return {
        name: Asset(name=name, file=e["file"], url=e["url"], sha256=tuple(e["sha256"]),
                    licence=e["licence"], attribution=e["attribution"])
        for name, e in tomllib.loads(text).items()
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _find_in_mirror(asset: Asset, mirror: Path) -> Path:
    if not mirror.is_dir():
        raise AssetError(f"asset mirror {mirror} is not a directory")
    candidates = [mirror / asset.file, *sorted(mirror.glob(f"*/{asset.file}"))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AssetError(f"{asset.name}: {asset.file} is not in the mirror {mirror} (looked in it and its subfolders)")


def _copy_from(asset: Asset, source: Path | None, sink) -> None:
    if source is not None:
        with source.open("rb") as stream:
            shutil.copyfileobj(stream, sink, CHUNK)
        return
    try:
        with urllib.request.urlopen(asset.url, timeout=30) as response:
            shutil.copyfileobj(response, sink, CHUNK)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise AssetError(
            f"{asset.name}: cannot download {asset.url} ({reason}); with no network, pass --mirror DIR "
            "or set MATAKOTA_ASSET_MIRROR to a directory holding the file"
        ) from None


def fetch(name: str, *, mirror: Path | None = None, dest_dir: Path | None = None) -> Path:
    """The verified local path of asset `name`: kept if already good, else copied from `mirror` or downloaded."""
    assets = manifest()
    if name not in assets:
        raise AssetError(f"unknown asset {name!r}; known: {', '.join(sorted(assets))}")
    asset = assets[name]
    config = settings()
    mirror = mirror or config.asset_mirror
    dest_dir = Path(dest_dir or config.asset_dir)
    target = dest_dir / asset.file
    if target.is_file() and sha256_of(target) in asset.sha256:
        return target
    source = _find_in_mirror(asset, Path(mirror)) if mirror else None
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest_dir, prefix=f".{asset.file}.", delete=False) as sink:
        partial = Path(sink.name)
        try:
            _copy_from(asset, source, sink)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    digest = sha256_of(partial)
    if digest not in asset.sha256:
        partial.unlink()
        origin = source or asset.url
        raise AssetError(
            f"{asset.name}: sha256 of {origin} is {digest}, expected {' or '.join(asset.sha256)}; file rejected"
        )
    partial.replace(target)
    return target


def fetch_all(*, mirror: Path | None = None, dest_dir: Path | None = None) -> dict[str, Path]:
    return {name: fetch(name, mirror=mirror, dest_dir=dest_dir) for name in manifest()}
