"""Where the 100 ms run's time over the ideal goes: the same calls through each HTTP layer alone.

N calls to the fake server (`tests/fakes/model_server.py`, its own process) from `concurrency`
workers started 2 ms apart, as `ci-gate run` starts them, each worker making one call at a time:

* ``aiohttp``: aiohttp's client directly, the least a Python client can do;
* ``httpx``: httpx's AsyncClient over httpx-aiohttp's transport, what ci-gate's model calls went
  through before (and any other httpx client still does);
* ``ci-gate``: ``request_json`` of ``ci_gate.providers.http_client`` on the client ``make_client``
  makes, what each model call runs (headers checked, body encoded, a deadline, sent through the
  client's aiohttp session directly, the answer parsed).

Prints the time of the calls against the ideal (ceil(N / concurrency) rounds of the service
time) and the mean and median latency each layer measures around its calls.

    python bench/bench_http_layers.py --calls 1000 --concurrency 32 --service-ms 100 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import ideal_s, start_server  # noqa: E402

from ci_gate.providers.http_client import make_client, request_json  # noqa: E402

STAGGER_S = 0.002
BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Question 1: what is 1 + 1?"}],
    "temperature": 0,
}


async def drive(
    call: Callable[[], Awaitable[None]], calls: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    pending = iter(range(calls))

    async def worker(k: int) -> None:
        await asyncio.sleep(k * STAGGER_S)
        for _ in pending:
            start = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return time.perf_counter() - start, latencies


async def via_aiohttp(url: str, calls: int, concurrency: int) -> tuple[float, list[float]]:
    raw = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer bench"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> None:
            async with session.post(url, data=raw, headers=headers) as response:
                json.loads(await response.read())

        return await drive(call, calls, concurrency)


async def via_httpx(url: str, calls: int, concurrency: int) -> tuple[float, list[float]]:
    raw = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer bench"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as client:

        async def call() -> None:
            response = await client.post(url, content=raw, headers=headers)
            response.json()

        return await drive(call, calls, concurrency)


async def via_ci_gate(url: str, calls: int, concurrency: int) -> tuple[float, list[float]]:
    client = make_client(concurrency)
    headers = {"authorization": "Bearer bench"}

    async def call() -> None:
        await request_json(client, "POST", url, headers=headers, body=BODY, timeout_s=60)

    try:
        return await drive(call, calls, concurrency)
    finally:
        await client.aclose()


LAYERS = {"aiohttp": via_aiohttp, "httpx": via_httpx, "ci-gate": via_ci_gate}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--service-ms", type=float, default=100.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    server, base = start_server(args.service_ms)
    url = f"{base}/v1/chat/completions"
    ideal = ideal_s(args.calls, args.service_ms, args.concurrency)
    print(f"{args.calls} calls, concurrency {args.concurrency}, {args.service_ms:g} ms service")
    try:
        for n in range(args.repeat):
            for name, layer in LAYERS.items():
                wall, latencies = asyncio.run(layer(url, args.calls, args.concurrency))
                vs = f" = {wall / ideal:.3f}x the ideal {ideal:.2f} s" if ideal else ""
                print(
                    f"  run {n + 1} {name:8s} {wall:6.3f} s{vs}; latency mean "
                    f"{statistics.mean(latencies):6.2f} ms, median "
                    f"{statistics.median(latencies):6.2f} ms"
                )
    finally:
        server.kill()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
