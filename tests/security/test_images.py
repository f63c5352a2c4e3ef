"""Image bombs against /v1/detect (read token): a decoy header, a strip, a burst of maximal images. The limit holds
on what the decoder really produces, and the API replica's memory stays bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from matakota.serve.images import ImageError, decode_image
from tests.conftest import READ
from tests.security.images import decoy_jpeg, png

pytestmark = pytest.mark.timeout(180)
LIMIT = 4_000_000  # the run's api.max_image_pixels (tests/conftest.py)


def post(api_url: str, body: bytes, content_type: str) -> httpx.Response:
    return httpx.post(f"{api_url}/v1/detect", content=body, headers={"Content-Type": content_type, **READ},
                      timeout=60)


def test_a_decoy_frame_header_cannot_smuggle_a_big_image_past_the_limit(api_url):
    bomb = decoy_jpeg(3000, 3000)  # 9 Mpx behind a 16×16 decoy, in 207 kB
    with pytest.raises(ImageError) as caught:
        decode_image(bomb, LIMIT)
    assert caught.value.status == 413 and "3000×3000" in str(caught.value)
    response = post(api_url, bomb, "image/jpeg")
    assert response.status_code == 413 and "3000×3000" in response.json()["detail"]


@pytest.mark.parametrize(("width", "height", "status"), [(2000, 1, 400), (1, 2000, 400), (640, 10, 200)])
def test_a_degenerate_strip_is_a_clear_400_not_a_500(api_url, width, height, status):
    response = post(api_url, png(np.zeros((height, width, 3), np.uint8)), "image/png")
    assert response.status_code == status, response.text
    if status == 400:
        assert "too thin" in response.json()["detail"]


def test_big_jpegs_are_decoded_no_larger_than_the_model_needs():
    from tests.security.images import jpeg

    upload = decode_image(jpeg(np.zeros((3000, 4000, 3), np.uint8)), 40_000_000)
    assert (upload.width, upload.height) == (4000, 3000) and upload.image.shape == (375, 500, 3)
    assert upload.scale == 8.0


def api_replica() -> psutil.Process:
    """This run's Api replica: a worker of this run's raylet (another Ray may run on the machine)."""
    import ray

    raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
    found = [p for p in psutil.Process(raylet).children(recursive=True)
             if " ".join(p.cmdline()).startswith("ray::ServeReplica:matakota:Api")]
    assert len(found) == 1, [" ".join(p.info["cmdline"])[:80] for p in found]
    return found[0]


def peak_rss(process: psutil.Process) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) * 1024


def test_eight_clients_sending_maximal_images_keep_the_replica_bounded(api_url):
    replica = api_replica()
    Path(f"/proc/{replica.pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
    idle = replica.memory_info().rss
    maximal = png(np.full((2000, 2000, 3), 90, np.uint8))  # exactly the pixel limit, small on the wire
    one_image = 2000 * 2000 * 3

    async def burst():
        headers = {"Content-Type": "image/png", **READ}
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*(client.post(f"{api_url}/v1/detect", content=body, headers=headers)
                                          for body in [maximal] * 8 + [decoy_jpeg(3000, 3000)] * 8))

    for _ in range(2):
        statuses = sorted(r.status_code for r in asyncio.run(burst()))
        assert statuses == [200] * 8 + [413] * 8, statuses
    peak = peak_rss(replica)
    print(f"API replica: idle {idle >> 20} MiB, peak {peak >> 20} MiB under 16 clients")
    assert peak < 2 * idle + one_image, f"peak {peak >> 20} MiB, idle {idle >> 20} MiB"
