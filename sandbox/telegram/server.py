"""The sandbox aiohttp application and a runner for in-process use.

``async with SandboxServer() as sb:`` starts it on a free 127.0.0.1 port; ``sb.url`` is the
base URL for ``TelegramAPIServer.from_base`` and for ``SandboxClient``; ``sb.world`` is the
live in-memory state, for tests that want to look inside.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from . import botapi, control
from .limits import RateLimits
from .media import MAX_REQUEST_BYTES
from .state import CALLBACK_TIMEOUT, World

WORLD = web.AppKey("world", World)


def create_app(world: World | None = None) -> web.Application:
    world = world if world is not None else World()
    # Room for a 50 MB upload and its form; a bigger upload is the method's 413 (:mod:`.media`).
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[WORLD] = world

    async def on_shutdown(_app: web.Application) -> None:
        world.close()  # long polls answer at once instead of holding the shutdown

    app.on_shutdown.append(on_shutdown)
    botapi.setup(app, world)
    control.setup(app, world)
    return app


class SandboxServer:
    """Runs the sandbox on an aiohttp AppRunner inside the current event loop.

    Every Telegram rule is on by default. ``limits`` replaces Telegram's flood limits (a
    caller that loosens them says why: ``RateLimits(enabled=False, why="...")``); ``clock``
    (default ``time.monotonic``) drives the limits and callback-query expiry, so tests can
    move time by hand; ``callback_timeout`` is how long a press may be answered (15 s).
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], float] | None = None,
        callback_timeout: float = CALLBACK_TIMEOUT,
    ) -> None:
        if world is None:
            world = World(limits=limits, callback_timeout=callback_timeout)
            if clock is not None:
                world.clock = clock
        elif limits is not None or clock is not None:
            raise ValueError("give either a world or its settings, not both")
        self.world = world
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def state(self) -> World:
        return self.world

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the sandbox is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening (port 0 = any free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        self.world.closing = False
        runner = web.AppRunner(
            create_app(self.world), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=2048)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        self.port = int(runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self.world.close()
            await self.world.finish_tasks()
            await runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
