"""The people of the acknowledgement storm, in a process of their own.

    python -m tests.benchmarks.ack_pressers PLAN.json RESULT.json

`bench_acks` writes the plan ({url, token, concurrency, presses: [[chat, message, user]]})
and runs this: `concurrency` presses at a time through the sandbox's control API
(`POST /_sandbox/press`, the same call as `SandboxClient.press`), with one aiohttp
session. Pressing from another process keeps the clients' own work (HTTP requests,
JSON) out of the CPU and the event loop of the Loa being measured. The result file says
when the first press went out (`time.monotonic()`, the same clock in every process on
Linux), how many presses were taken and why any was refused, and its own CPU time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp


async def press_all(plan: dict[str, Any]) -> dict[str, Any]:
    url = str(plan["url"]).rstrip("/") + "/_sandbox/press"
    token = str(plan["token"])
    queue = iter(plan["presses"])
    pressed = 0
    refused: list[str] = []
    connector = aiohttp.TCPConnector(limit=int(plan["concurrency"]))
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as http:

        async def presser() -> None:
            nonlocal pressed
            for chat, message, user in queue:
                body = {"token": token, "chat_id": chat, "message_id": message, "user": user}
                try:
                    async with http.post(url, json=body) as response:
                        if response.status >= 400:
                            refused.append(f"{response.status}: {await response.text()}")
                        else:
                            await response.read()
                            pressed += 1
                except aiohttp.ClientError as exc:  # counted as refused by the benchmark
                    refused.append(repr(exc))

        started = time.monotonic()
        await asyncio.gather(*(presser() for _ in range(int(plan["concurrency"]))))
    return {
        "started": started,
        "ended": time.monotonic(),
        "cpu_seconds": time.process_time(),
        "pressed": pressed,
        "refused": refused,
    }


def main() -> None:
    plan_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    result = asyncio.run(press_all(json.loads(plan_path.read_text())))
    result_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
