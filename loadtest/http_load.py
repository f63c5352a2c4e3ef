"""HTTP load generator for the matakota API: bounded request count and duration, loopback only.

    .venv/bin/python -m loadtest.http_load http://127.0.0.1:8000/v1/detect --image frame.jpg \
        [--requests 500] [--seconds 20] [--concurrency 16] [--token TOKEN] [--json out.json]

GET without `--image`, POST of the JPEG with it. Prints latency p50/p90/p99 and status counts. Only
127.0.0.1 / ::1 / localhost targets are accepted: this tool never loads anyone else's service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import httpx
import numpy as np

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class NotLoopbackError(ValueError):
    """The target is not on this machine."""


@dataclass
class LoadResult:
    url: str
    requests: int
    seconds: float
    concurrency: int
    statuses: dict[str, int] = field(default_factory=dict)  # "200": n, "error:ReadTimeout": n
    latency_s: dict[str, float | None] = field(default_factory=dict)  # p50, p90, p99, max (successful requests)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "requests_per_s": self.rate}


def check_loopback(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        raise NotLoopbackError(f"refusing {url!r}: only http(s)://127.0.0.1, ::1 or localhost targets are allowed")


async def run_load(url: str, *, requests: int = 500, seconds: float = 20.0, concurrency: int = 16,
                   body: bytes | None = None, content_type: str = "image/jpeg", token: str | None = None,
                   timeout_s: float = 30.0) -> LoadResult:
    """Send at most `requests` requests for at most `seconds`, `concurrency` at a time."""
    check_loopback(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = content_type
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    budget = iter(range(requests))
    deadline = time.perf_counter() + seconds

    async with httpx.AsyncClient(timeout=timeout_s, headers=headers, trust_env=False) as client:
        async def worker() -> None:
            while time.perf_counter() < deadline and next(budget, None) is not None:
                started = time.perf_counter()
                try:
                    response = await (client.post(url, content=body) if body is not None else client.get(url))
                except httpx.HTTPError as error:
                    statuses[f"error:{type(error).__name__}"] += 1
                    continue
                statuses[str(response.status_code)] += 1
                if response.is_success:
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(url, sum(statuses.values()), elapsed, concurrency, dict(statuses), percentiles(latencies))


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return dict.fromkeys(("p50", "p90", "p99", "max"))
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(max(latencies))}


def report(result: LoadResult) -> str:
    lat = result.latency_s
    ms = {k: "n/a" if v is None else f"{v * 1000:.1f} ms" for k, v in lat.items()}
    return (f"{result.url}: {result.requests} requests in {result.seconds:.1f} s ({result.rate:.1f}/s), "
            f"concurrency {result.concurrency}\n"
            f"latency p50 {ms['p50']}, p90 {ms['p90']}, p99 {ms['p99']}, max {ms['max']}\n"
            f"statuses: {', '.join(f'{k}: {v}' for k, v in sorted(result.statuses.items()))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="loopback URL, e.g. http://127.0.0.1:8000/v1/detect")
    parser.add_argument("--image", help="POST this file as the body (JPEG); GET without it")
    parser.add_argument("--requests", type=int, default=500, help="most requests sent")
    parser.add_argument("--seconds", type=float, default=20.0, help="most seconds spent")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--token", default=os.environ.get("MATAKOTA_API_TOKEN"),
                        help="bearer token (default: $MATAKOTA_API_TOKEN)")
    parser.add_argument("--json", help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    body = open(args.image, "rb").read() if args.image else None
    try:
        result = asyncio.run(run_load(args.url, requests=args.requests, seconds=args.seconds,
                                      concurrency=args.concurrency, body=body, token=args.token))
    except NotLoopbackError as error:
        print(f"http_load: {error}", file=sys.stderr)
        return 2
    print(report(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result.to_json(), out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
