"""The real API in uvicorn on 127.0.0.1 (an OS-chosen port), in a thread of its own.

For tools that speak HTTP from another process, such as the schemathesis CLI. The server
thread has its own event loop, engine and sessionmaker over the given database.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from api.app import create_app
from broadcasts.db import make_engine, make_sessionmaker
from broadcasts.settings import (
    ApiSettings,
    AttachmentSettings,
    HealthSettings,
    Settings,
    TelegramSettings,
    ZaloSettings,
)


@contextmanager
def live_api(
    database_url: str,
    *,
    admin_key: str,
    telegram_api_base: str = "http://127.0.0.1:9",
    zalo_api_base: str = "http://127.0.0.1:9",
    attachments_dir: Path | None = None,
) -> Iterator[str]:
    """Serve the API over `database_url` while the block runs; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Fuzzers send wrong keys on purpose (the ignored_auth check): they must not lock out
    # the admin key for the rest of the run.
    settings = Settings(
        database_url=database_url,
        api=ApiSettings(
            bootstrap_key=SecretStr(admin_key),
            auth_failures_per_address=1_000_000,
            auth_failures_per_key=1_000_000,
        ),
        # POST /bots asks the Bot API server whose a token is: the sandbox when given, else
        # a closed local port (502 at once); nothing leaves the machine.
        telegram=TelegramSettings(api_base=telegram_api_base),
        zalo=ZaloSettings(api_base=zalo_api_base),  # the same for Zalo bots
        # The file store that /f/<token> downloads serve from.
        attachments=AttachmentSettings(dir=attachments_dir or Path("loa-attachments")),
        # No delivery worker runs beside this API: the notices a fuzzer confirms wait for
        # ever, and /health would rightly answer 503 once they have waited a minute. A
        # week-long window keeps /health about the API itself for the run.
        health=HealthSettings(stale_seconds=7 * 24 * 3600),
    )
    engine = make_engine(database_url)
    app = create_app(sessionmaker=make_sessionmaker(engine), settings=settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="live-api", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the API did not start: {failure!r}")
            thread.join(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
