"""The lean send path's HTTP/1.1 client against scripted servers: keep-alive, framing
(Content-Length, chunked, until close), lost connections, timeouts, the pool's bound, https."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broadcasts.transports.http1 import Http1Pool, UnreadableAnswer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class Server:
    """A scripted HTTP server: what each connection receives, how many were opened."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(
        answer: Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        ssl_context: ssl.SSLContext | None = None,
    ) -> Server:
        state = Server()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            try:
                await answer(state, reader, writer)
            except ConnectionError:
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        state.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}/bot1:x/sendMessage"
        return state

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _answer_each(
    server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: bytes
) -> None:
    while await server.read_request(reader) is not None:
        writer.write(answer)
        await writer.drain()


async def test_requests_share_one_keep_alive_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(lambda s, r, w: _answer_each(s, r, w, OK))
    pool = Http1Pool(server.url)
    head = pool.post_head(server.url)
    try:
        for body in (b'{"a":1}', b'{"text":"H\xe1\xbb\x8dp t\xe1\xbb\x95"}'):
            assert await pool.post(head, body, timeout=5) == (200, b'{"ok":true}')
    finally:
        await pool.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /bot1:x/sendMessage HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.url.split(':')[2].split('/')[0]}".encode() in first
    assert b"Content-Type: application/json\r\nContent-Length: 7\r\n\r\n" in first
    assert first.endswith(b'{"a":1}')
    assert server.requests[1].endswith('{"text":"Họp tổ"}'.encode())


async def test_chunked_and_until_close_answers(serve: Callable[..., Awaitable[Server]]) -> None:
    chunked = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"ok"\r\n6\r\n:false\r\n1\r\n}\r\n0\r\n\r\n'
    )
    server = await serve(lambda s, r, w: _answer_each(s, r, w, chunked))
    pool = Http1Pool(server.url)
    try:
        assert await pool.post(pool.post_head(server.url), b"{}", timeout=5) == (
            400,
            b'{"ok":false}',
        )
    finally:
        await pool.close()

    async def until_close(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await s.read_request(r)
        w.write(b'HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n{"ok":false,')
        await w.drain()
        w.write(b'"description":"Bad Gateway"}')

    server = await serve(until_close)
    pool = Http1Pool(server.url)
    head = pool.post_head(server.url)
    try:
        status, body = await pool.post(head, b"{}", timeout=5)
        assert (status, body) == (502, b'{"ok":false,"description":"Bad Gateway"}')
        await pool.post(head, b"{}", timeout=5)  # closed by the server: a new connection
    finally:
        await pool.close()
    assert server.connections == 2


async def test_connection_close_and_idle_close_open_a_new_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def one_each(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await s.read_request(r)  # answers keep-alive, then hangs up while idle
        w.write(OK)
        await w.drain()

    server = await serve(one_each)
    pool = Http1Pool(server.url)
    head = pool.post_head(server.url)
    try:
        for _ in range(3):
            assert (await pool.post(head, b"{}", timeout=5))[0] == 200
            await asyncio.sleep(0.05)  # the server's close reaches the pool
    finally:
        await pool.close()
    assert server.connections == 3


async def test_a_connection_idle_too_long_is_not_reused(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(lambda s, r, w: _answer_each(s, r, w, OK))
    pool = Http1Pool(server.url, idle_seconds=0.0)
    head = pool.post_head(server.url)
    try:
        await pool.post(head, b"{}", timeout=5)
        await pool.post(head, b"{}", timeout=5)
    finally:
        await pool.close()
    assert server.connections == 2


async def test_lost_connection_timeout_and_garbage_fail_the_request(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def hang_up(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await s.read_request(r)
        w.write(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"ok"')  # then gone

    server = await serve(hang_up)
    pool = Http1Pool(server.url)
    with pytest.raises(ConnectionError):
        await pool.post(pool.post_head(server.url), b"{}", timeout=5)
    await pool.close()

    async def silent(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while await s.read_request(r) is not None:
            pass  # never answers

    server = await serve(silent)
    pool = Http1Pool(server.url)
    head = pool.post_head(server.url)
    try:
        with pytest.raises(TimeoutError):
            await pool.post(head, b"{}", timeout=0.2)
        with pytest.raises(TimeoutError):
            await pool.post(head, b"{}", timeout=0.2)
    finally:
        await pool.close()
    assert server.connections == 2  # the first one's answer may still come: never reused

    server = await serve(lambda s, r, w: _answer_each(s, r, w, b"SMTP ready\r\n\r\n"))
    pool = Http1Pool(server.url)
    try:
        with pytest.raises(UnreadableAnswer):
            await pool.post(pool.post_head(server.url), b"{}", timeout=5)
    finally:
        await pool.close()


async def test_unreachable_host_is_an_os_error() -> None:
    pool = Http1Pool("http://127.0.0.1:9/bot1:x/sendMessage")
    try:
        with pytest.raises(OSError) as caught:
            await pool.post(pool.post_head("http://127.0.0.1:9/bot1:x/x"), b"{}", timeout=5)
        assert not isinstance(caught.value, TimeoutError)
    finally:
        await pool.close()


async def test_at_the_limit_requests_wait_for_a_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slow(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while await s.read_request(r) is not None:
            await asyncio.sleep(0.05)
            w.write(OK)
            await w.drain()

    server = await serve(slow)
    pool = Http1Pool(server.url, limit=2)
    head = pool.post_head(server.url)
    try:
        answers = await asyncio.gather(*(pool.post(head, b"{}", timeout=5) for _ in range(6)))
    finally:
        await pool.close()
    assert [status for status, _ in answers] == [200] * 6
    assert server.connections == 2


async def test_a_cancelled_request_drops_its_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slow(s: Server, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while await s.read_request(r) is not None:
            await asyncio.sleep(0.3)
            w.write(OK)
            await w.drain()

    server = await serve(slow)
    pool = Http1Pool(server.url, limit=1)
    head = pool.post_head(server.url)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await pool.post(head, b"{}", timeout=5)
        assert (await pool.post(head, b"{}", timeout=5))[0] == 200  # not the late answer's
    finally:
        await pool.close()
    assert server.connections == 2


def test_a_url_on_another_host_or_not_http_is_refused() -> None:
    pool = Http1Pool("http://127.0.0.1:8081/api/bot1:x/sendMessage")
    assert pool.post_head("http://127.0.0.1:8081/api/bot1:x/sendMessage").startswith(
        b"POST /api/bot1:x/sendMessage HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n"
    )
    assert b"Host: api.telegram.org\r\n" in Http1Pool("https://api.telegram.org/").post_head(
        "https://api.telegram.org/bot1:x/sendMessage"
    )
    with pytest.raises(ValueError):
        pool.post_head("http://127.0.0.1:8082/bot1:x/sendMessage")
    with pytest.raises(ValueError):
        Http1Pool("ftp://127.0.0.1/")


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for 127.0.0.1 with a fresh certificate, and a client trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


async def test_https_to_a_self_hosted_server(
    serve: Callable[..., Awaitable[Server]], tmp_path: Path
) -> None:
    server_context, client_context = _self_signed(tmp_path)
    server = await serve(lambda s, r, w: _answer_each(s, r, w, OK), server_context)
    pool = Http1Pool(server.url, ssl_context=client_context)
    head = pool.post_head(server.url)
    try:
        assert await pool.post(head, b"{}", timeout=5) == (200, b'{"ok":true}')
        assert await pool.post(head, b"{}", timeout=5) == (200, b'{"ok":true}')
    finally:
        await pool.close()
    assert server.connections == 1
    untrusting = Http1Pool(server.url)  # the system's CAs do not know this certificate
    try:
        with pytest.raises(ssl.SSLError):
            await untrusting.post(head, b"{}", timeout=5)
    finally:
        await untrusting.close()
