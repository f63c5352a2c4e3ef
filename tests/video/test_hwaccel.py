"""`decode.hwaccel: cuda`: without a usable GPU the camera decodes on the CPU, says so once, and its frames are
the CPU decode's; the decoder-of-our-own path (what a device decoder takes) gives the stream decoder's frames."""

import logging
import threading

import av
import numpy as np
import pytest
from pydantic import ValidationError

from matakota.config import DecodeConfig, DecodeMode, HwAccel, SourceConfig
from matakota.core.errors import StreamEndedError
from matakota.video import decode, hwaccel
from matakota.video.hwaccel import CPU, DecoderChoice, open_stream_decoder
from matakota.video.reader import CameraReader


def cuda_opens(path) -> bool:
    with av.open(str(path)) as container:
        return open_stream_decoder(container.streams.video[0], HwAccel.CUDA)[1].fallback == ""


def decode_with_choice(path, cfg: DecodeConfig, loop_frames: int | None = None):
    """(every Decoded, the DecoderChoice heard) for a file, unpaced; looped until `loop_frames` when given."""
    stop, out, heard = threading.Event(), [], []
    with av.open(str(path)) as container:
        try:
            for item in decode.decode_frames(container, cfg, stop, loop=loop_frames is not None,
                                             on_decoder=heard.append):
                out.append(item)
                if loop_frames and len(out) >= loop_frames:
                    break
        except StreamEndedError:
            pass
    return out, heard


def same_frames(a, b) -> bool:
    return ([(f.pts_s, f.keyframe) for f in a] == [(f.pts_s, f.keyframe) for f in b]
            and all((x.image is None and y.image is None) or np.array_equal(x.image, y.image) for x, y in zip(a, b)))


@pytest.fixture
def no_cuda(people_clip):
    if cuda_opens(people_clip):
        pytest.skip("this machine opens CUDA decoders: no fallback to see")


def test_hwaccel_config_is_none_by_default_and_strict():
    assert DecodeConfig().hwaccel is HwAccel.NONE
    assert DecodeConfig(hwaccel="cuda").hwaccel is HwAccel.CUDA
    with pytest.raises(ValidationError, match="hwaccel"):
        DecodeConfig(hwaccel="nvdec")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", [DecodeMode.SAMPLED, DecodeMode.KEYFRAMES])
def test_cuda_without_a_gpu_falls_back_once_to_the_same_frames(no_cuda, people_clip, mode, caplog):
    cpu, heard_cpu = decode_with_choice(people_clip, DecodeConfig(mode=mode, max_width=160))
    with caplog.at_level(logging.WARNING, logger="matakota.video.hwaccel"):
        cuda, heard = decode_with_choice(people_clip, DecodeConfig(mode=mode, max_width=160, hwaccel="cuda"))
    assert heard_cpu == [DecoderChoice()]
    assert len(heard) == 1 and heard[0].name == CPU and "cuda decoder for h264 unavailable" in heard[0].fallback
    assert len([r for r in caplog.records if "decoding on the CPU" in r.message]) == 1
    assert len(cuda) == len(cpu) > 100 and same_frames(cuda, cpu)


@pytest.mark.timeout(60)
def test_a_decoder_of_our_own_gives_the_stream_decoders_frames_across_loops(cars_clip, monkeypatch):
    """The path a device decoder takes (own context, drained at EOF, flushed on loop), with FFmpeg's software
    decoder standing in for the device."""
    monkeypatch.setattr(hwaccel, "device_settings", lambda mode: None)
    cfg = DecodeConfig(mode=DecodeMode.ALL, max_width=96)
    stream_decoder, _ = decode_with_choice(cars_clip, cfg, loop_frames=500)
    own, heard = decode_with_choice(cars_clip, cfg.model_copy(update={"hwaccel": HwAccel.CUDA}), loop_frames=500)
    assert heard == [DecoderChoice("cuda")]  # (the stand-in opened)
    assert len(own) == 500 and same_frames(own, stream_decoder)


@pytest.mark.timeout(60)
def test_reader_stats_name_the_decoder_and_the_fallback(no_cuda, cars_clip, wait_until):
    source = SourceConfig(url=str(cars_clip), allow_files=True, paced=False)
    plain = CameraReader("plain", source, DecodeConfig(mode="all"))
    cuda = CameraReader("gpu", source, DecodeConfig(mode="all", hwaccel="cuda"))
    try:
        assert wait_until(lambda: cuda.stats().frames_decoded > 0 and plain.stats().frames_decoded > 0, 20)
        assert (plain.stats().decoder, plain.stats().hwaccel_fallback) == (CPU, "")
        stats = cuda.stats()
        assert stats.decoder == CPU and stats.hwaccel_fallback.startswith("cuda decoder for h264 unavailable")
    finally:
        plain.stop(), cuda.stop()
