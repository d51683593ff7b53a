"""A small HTTP/1.1 keep-alive client: POSTs of a prepared body to one host, for the send loop.

The delivery engine posts tens of thousands of small JSON bodies to one host (the Bot API
server) and reads back a status and a short JSON answer. aiohttp's `ClientSession` builds a
request object, a response object, a payload, a timer context, a connection-pool key and a
stream reader for each one: a third of a message's CPU in the ceiling benchmark (README,
Benchmarks). httpx and httpcore do more per request, not less. What is left here is what
such a post needs: a pool of keep-alive connections, each an `asyncio.Protocol` that writes
the request in one call and hands its answer to one future, with httptools (llhttp, the
parser uvicorn and aiohttp use) reading the status line, Content-Length or chunked
framing and keep-alive.

`post` raises TimeoutError when no answer came within `timeout` (the connection is dropped:
its answer may still come), and another OSError when none can come: the host cannot be
reached (ConnectionRefusedError, ssl.SSLError...), the connection was lost before the
answer was complete, or what came back is not HTTP (`UnreadableAnswer`). In both cases
the request may have reached the server. A connection is reused only after a complete
answer that allows it (no `Connection: close`), and never after `idle_seconds` unused, so
that a server closing idle connections does not see a request on one it is closing.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

import httptools
from yarl import URL

__all__ = ["Http1Pool", "UnreadableAnswer"]


class UnreadableAnswer(ConnectionError):
    """Raised when what the server sent back is not an HTTP answer."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time (no pipelining)."""

    __slots__ = (
        "_body",
        "_framed",
        "_headers_done",
        "_parser",
        "_pool",
        "_waiter",
        "closed",
        "idle_since",
        "transport",
    )

    def __init__(self, pool: Http1Pool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._framed = False  # the answer has a Content-Length or is chunked
        self._headers_done = False
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0

    # -- the request --------------------------------------------------------------------

    def send(
        self, data: bytes, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[tuple[int, bytes]]:
        """Write one whole request; the future gets (status, body) once answered."""
        assert self.transport is not None and self._waiter is None
        self._waiter = waiter = loop.create_future()
        self._body = []
        self._framed = self._headers_done = False
        self.transport.write(data)
        return waiter

    def expire(self) -> None:
        """The answer did not come in time: fail the request and drop the connection."""
        if self._waiter is not None:  # else answered already, the timer only fired late
            self._fail(TimeoutError())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._pool._forget(self)
        if self.transport is not None:
            self.transport.abort()

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing was asked: a server talking out of turn
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UnreadableAnswer(f"not an HTTP answer: {exc}"))

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost settles what was waiting

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self._pool._forget(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and not self._framed:
            # An answer without Content-Length or chunks ends where the connection does.
            self._answered(False)
        else:
            self._fail(exc or ConnectionResetError("the connection closed before the answer"))

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) in (14, 17) and name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._answered(self._parser.should_keep_alive())

    # -- settling -----------------------------------------------------------------------

    def _answered(self, keep_alive: bool) -> None:
        waiter, self._waiter = self._waiter, None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        if not keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((self._parser.get_status_code(), body))

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def is_reusable(self) -> bool:
        return not self.closed and self._waiter is None


class Http1Pool:
    """Keep-alive connections to the host of `base_url` (http or https), at most `limit`;
    a request waits for a connection when all are busy."""

    def __init__(
        self,
        base_url: str,
        *,
        limit: int = 256,
        ssl_context: ssl.SSLContext | None = None,
        idle_seconds: float = 15.0,
    ) -> None:
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._scheme = url.scheme
        self.host: str = url.host
        self.port: int = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if url.scheme == "https" else None
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._authority = host if url.explicit_port is None else f"{host}:{self.port}"
        self._limit = max(1, limit)
        self._idle_seconds = idle_seconds
        self._idle: list[_Connection] = []  # most recently used last
        self._all: set[_Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._closed = False

    def post_head(self, url: str, content_type: str = "application/json") -> bytes:
        """The fixed start of a POST to `url` (on this pool's host), up to the
        Content-Length value: made once, used for every `post` to it."""
        target = URL(url)
        if (target.scheme, target.host, target.port) != (self._scheme, self.host, self.port):
            raise ValueError(f"{url!r} is not on {self._scheme}://{self._authority}")
        return (
            f"POST {target.raw_path_qs} HTTP/1.1\r\nHost: {self._authority}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: "
        ).encode("ascii")

    async def post(self, head: bytes, body: bytes, *, timeout: float) -> tuple[int, bytes]:
        """Send `head` (from `post_head`) with `body`; the answer's status and body."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = self._take_idle(loop)
        if connection is None:
            connection = await self._connection(loop, deadline)
        request = b"%b%d\r\n\r\n%b" % (head, len(body), body)
        waiter = connection.send(request, loop)
        timer = loop.call_at(deadline, connection.expire)
        try:
            answer = await waiter
        except BaseException:
            connection.close()  # a request is under way on it (or it failed): never reuse
            raise
        finally:
            timer.cancel()
        self._give_back(connection, loop)
        return answer

    async def close(self) -> None:
        self._closed = True
        for connection in list(self._all):
            connection.close()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionAbortedError("the HTTP pool was closed"))

    # -- connections --------------------------------------------------------------------

    def _take_idle(self, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        idle = self._idle
        if not idle:
            return None
        fresh_after = loop.time() - self._idle_seconds
        while idle:
            connection = idle.pop()
            if connection.is_reusable() and connection.idle_since > fresh_after:
                return connection
            connection.close()
        return None

    def _give_back(self, connection: _Connection, loop: asyncio.AbstractEventLoop) -> None:
        if not connection.is_reusable():
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = loop.time()
        self._idle.append(connection)

    def _forget(self, connection: _Connection) -> None:
        """A connection closed: its place may go to a request waiting for one."""
        self._all.discard(connection)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # open a new one
                return

    async def _connection(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        """A connection for one request: a new one, or the next given back when at `limit`."""
        while True:
            if self._closed:
                raise ConnectionAbortedError("the HTTP pool was closed")
            if len(self._all) + self._opening < self._limit:
                return await self._open(loop, deadline)
            waiter: asyncio.Future[_Connection | None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    given = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    if (lost := waiter.result()) is not None:
                        self._give_back(lost, loop)
                raise
            if given is not None and given.is_reusable():
                return given

    async def _open(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        self._opening += 1
        try:
            async with asyncio.timeout_at(deadline):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                )
        finally:
            self._opening -= 1
        if self._closed:
            protocol.close()
            raise ConnectionAbortedError("the HTTP pool was closed")
        self._all.add(protocol)
        return protocol
