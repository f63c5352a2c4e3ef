"""Camera video without Ray: sources (URLs, credentials, deadlines), decoding, readers, synthetic cameras.

`open_reader` is the entry point: it starts the reader a source needs.
"""

from __future__ import annotations

from matakota.config import DecodeConfig, SourceConfig
from matakota.core.urls import SourceKind
from matakota.video.clips import PacketRing
from matakota.video.reader import CameraReader
from matakota.video.synthetic import SyntheticReader


def open_reader(camera_id: str, source: SourceConfig, decode: DecodeConfig | None = None, keep_packets_s: float = 0.0):
    """The reader for this source, started: a SyntheticReader for `synthetic://` (no packets, so no clips), else a
    CameraReader keeping its last `keep_packets_s` seconds of packets for clips (`reader.ring`; 0: none)."""
    if source.kind is SourceKind.SYNTHETIC:
        return SyntheticReader(camera_id, source)
    return CameraReader(camera_id, source, decode, ring=PacketRing(keep_packets_s) if keep_packets_s > 0 else None)
