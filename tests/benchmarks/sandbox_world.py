"""The sandbox for benchmarks, in its own process, with its group chats made up front.

    python -m tests.benchmarks.sandbox_world --spec '{"bench-1": [1, 1000]}' --out world.json

`--spec` maps a name to [bots, groups per bot]; the groups are created in-process through
the sandbox's control object (50,000 HTTP calls would take longer than the benchmark).
When serving, it writes {"url": ..., "worlds": {name: {token: [chat ids]}}} to `--out`
and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path

from sandbox.telegram.control import Control
from sandbox.telegram.server import SandboxServer

PERSON = {"id": 901, "first_name": "Tổ trưởng"}


async def build(spec: dict[str, list[int]], out: Path, port: int) -> None:
    server = SandboxServer()
    control = Control(server.world)
    worlds: dict[str, dict[str, list[int]]] = {}
    for b, (name, (bots, groups)) in enumerate(spec.items()):
        worlds[name] = {}
        for i in range(bots):
            token = f"{9000000 + b * 1000 + i}:bench-{name}-{i}"
            chats = []
            for g in range(groups):
                made = await control.groups({"token": token, "title": f"Tổ {g}", "by_user": PERSON})
                chats.append(int(made["chat_id"]))
            worlds[name][token] = chats
            # Nobody polls these bots: drop the "bot added" updates instead of keeping them.
            server.world.bots[token].updates.clear()
    url = await server.start(port=port)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "worlds": worlds}))
    tmp.rename(out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(build(json.loads(args.spec), args.out, args.port))


if __name__ == "__main__":
    main()
