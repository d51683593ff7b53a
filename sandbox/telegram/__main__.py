"""``python -m sandbox.telegram --host 127.0.0.1 --port 8081``: run the sandbox standalone.

Prints its base URL on start and serves until interrupted (Ctrl-C or SIGTERM). Uses uvloop
when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .server import SandboxServer


async def serve(host: str, port: int) -> None:
    server = SandboxServer()
    url = await server.start(host, port)
    print(f"Telegram Bot API sandbox listening on {url}", flush=True)
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
        prog="python -m sandbox.telegram", description="Local Telegram Bot API sandbox"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        runner = asyncio.run
    else:  # pragma: no cover - only when uvloop is installed
        runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
