"""``python -m sandbox.zalo --host 127.0.0.1 --port 8082``: run the Zalo sandbox standalone.

Prints its base URL (for LOA_ZALO__API_BASE) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .server import ZaloSandbox


async def serve(host: str, port: int) -> None:
    server = ZaloSandbox()
    url = await server.start(host, port)
    print(f"Zalo Bot API sandbox listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.zalo", description="Local Zalo Bot API sandbox"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
