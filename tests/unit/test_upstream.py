"""UpstreamPool against real asyncio servers on 127.0.0.1, under both the default loop and uvloop."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from apiway.integrations.upstream import (
    UpstreamConnectError,
    UpstreamPool,
    UpstreamProtocolError,
    UpstreamTimeout,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else asyncio.new_event_loop

    def _run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(asyncio.wait_for(coro, 10))

    return _run


@dataclass
class Req:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    conn: int  # index of the TCP connection it arrived on
    nth: int  # index of the request on that connection

    def header(self, name: bytes) -> bytes | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


# respond(req, writer) writes the answer; returns False to close the connection afterwards.
Responder = Callable[[Req, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Upstream:
    respond: Responder
    connections: int = 0
    requests: list[Req] = field(default_factory=list)
    port: int = 0
    server: asyncio.Server | None = None

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connections
        self.connections += 1
        nth = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, *lines = head[:-4].split(b"\r\n")
                method, target, _ = line.decode().split(" ")
                headers = [tuple(h.split(b": ", 1)) for h in lines]
                req = Req(method, target, headers, b"", conn, nth)  # type: ignore[arg-type]
                length = req.header(b"content-length")
                if length:
                    req.body = await reader.readexactly(int(length))
                self.requests.append(req)
                nth += 1
                if not await self.respond(req, writer):
                    return
                await writer.drain()
        finally:
            writer.close()


def answer(raw: bytes, keep_open: bool = True) -> Responder:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw)
        return keep_open

    return respond


async def get(
    pool: UpstreamPool, up: Upstream, method: str = "GET", target: str = "/", body: bytes = b"", **kw: Any
) -> Any:
    headers = kw.pop("headers", [(b"Host", b"upstream.test")])
    return await pool.request(
        "http", "127.0.0.1", up.port, method, target, headers, body, **{"timeout": 2, **kw}
    )


def test_content_length_response(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK)) as up:
            pool = UpstreamPool()
            resp = await get(pool, up, target="/a/b?x=1")
            assert (resp.status, resp.body) == (200, b"hello")
            assert resp.headers == [(b"Content-Length", b"5")]
            assert up.requests[0].target == "/a/b?x=1"
            await pool.close()

    run(main())


def test_chunked_response_in_pieces(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        for piece in (
            b"HTTP/1.1 200 OK\r\nTransfer-",
            b"Encoding: chunked\r\n\r\n5\r\nhel",
            b"lo\r\n",
            b"6\r\n world\r\n0\r\n",
            b"\r\n",
        ):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.005)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            for _ in range(2):
                resp = await get(pool, up)
                assert (resp.status, resp.body) == (200, b"hello world")
            assert up.connections == 1  # chunked responses keep the connection
            await pool.close()

    run(main())


def test_close_delimited_response(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"the end")
        return False

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            for _ in range(2):
                resp = await get(pool, up)
                assert (resp.status, resp.body) == (200, b"until the end")
            assert up.connections == 2
            await pool.close()

    run(main())


def test_head_and_204_have_no_body(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        elif req.target == "/204":
            writer.write(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
        elif req.target == "/304":
            writer.write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n")
        else:
            writer.write(OK)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            resp = await get(pool, up, "HEAD")
            assert (resp.status, resp.body, resp.headers) == (200, b"", [(b"Content-Length", b"100")])
            assert (await get(pool, up)).body == b"hello"  # the connection is still in sync
            resp = await get(pool, up, target="/204")
            assert (resp.status, resp.body) == (204, b"")
            resp = await get(pool, up, target="/304")
            assert (resp.status, resp.body) == (304, b"")
            assert (await get(pool, up, "HEAD")).body == b""
            assert (await get(pool, up)).body == b"hello"
            assert up.connections == 1
            await pool.close()

    run(main())


def test_repeated_headers_kept_in_order(run: Callable) -> None:
    raw = (
        b"HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nx-Mixed-CASE: v\r\nSet-Cookie: b=2\r\n"
        b"Content-Length: 0\r\nSet-Cookie: c=3\r\n\r\n"
    )

    async def main() -> None:
        async with Upstream(answer(raw)) as up:
            pool = UpstreamPool()
            resp = await get(pool, up)
            assert resp.status == 201
            assert resp.headers == [
                (b"Set-Cookie", b"a=1"),
                (b"x-Mixed-CASE", b"v"),
                (b"Set-Cookie", b"b=2"),
                (b"Content-Length", b"0"),
                (b"Set-Cookie", b"c=3"),
            ]
            await pool.close()

    run(main())


def test_keep_alive_reuses_one_connection(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK)) as up:
            pool = UpstreamPool()
            for _ in range(5):
                assert (await get(pool, up)).body == b"hello"
            assert up.connections == 1
            assert [r.nth for r in up.requests] == [0, 1, 2, 3, 4]
            await pool.close()

    run(main())


def test_connection_close_not_reused(run: Callable) -> None:
    raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello"

    async def main() -> None:
        async with Upstream(answer(raw, keep_open=True)) as up:  # server keeps it open: client must not
            pool = UpstreamPool()
            for _ in range(3):
                assert (await get(pool, up)).body == b"hello"
            assert up.connections == 3
            await pool.close()

    run(main())


def test_http10_without_keep_alive_not_reused(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")) as up:
            pool = UpstreamPool()
            for _ in range(2):
                assert (await get(pool, up)).body == b"ok"
            assert up.connections == 2
            await pool.close()

    run(main())


def test_idle_connection_closed_by_server_then_next_request_succeeds(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK, keep_open=False)) as up:  # keep-alive response, then close
            pool = UpstreamPool()
            assert (await get(pool, up)).body == b"hello"
            await asyncio.sleep(0.05)  # the client sees the close while the connection is idle
            assert (await get(pool, up)).body == b"hello"
            assert up.connections == 2
            await pool.close()

    run(main())


def test_stale_reused_connection_is_retried_once_for_idempotent_methods(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.nth == 1:
            return False  # the idle-timeout race: request read, connection closed, no response byte
        writer.write(OK)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            assert (await get(pool, up)).body == b"hello"
            assert (await get(pool, up, "PUT", body=b"x")).body == b"hello"
            assert up.connections == 2
            assert [(r.conn, r.nth, r.method) for r in up.requests] == [
                (0, 0, "GET"),
                (0, 1, "PUT"),
                (1, 0, "PUT"),
            ]
            # A POST may have been processed before the close: it is not replayed.
            with pytest.raises(UpstreamProtocolError):
                await get(pool, up, "POST", body=b"x")
            assert [(r.conn, r.nth, r.method) for r in up.requests][3:] == [(1, 1, "POST")]
            await pool.close()

    run(main())


def test_no_retry_on_fresh_connection_closed_without_response(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(b"", keep_open=False)) as up:
            pool = UpstreamPool()
            with pytest.raises(UpstreamProtocolError):
                await get(pool, up)
            assert up.connections == 1
            await pool.close()

    run(main())


def test_server_closing_on_accept_fails_fast(run: Callable) -> None:
    async def main() -> None:
        async def slam(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(slam, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = UpstreamPool()
        start = time.monotonic()
        with pytest.raises(UpstreamProtocolError):
            await pool.request("http", "127.0.0.1", port, "GET", "/", [(b"Host", b"h")], b"", 5)
        assert time.monotonic() - start < 1
        await pool.close()
        server.close()

    run(main())


def test_no_retry_once_response_bytes_received(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.nth == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")
            return False
        writer.write(OK)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            assert (await get(pool, up)).body == b"hello"
            with pytest.raises(UpstreamProtocolError):
                await get(pool, up)
            assert up.connections == 1
            assert len(up.requests) == 2
            await pool.close()

    run(main())


def test_truncated_body_is_protocol_error(run: Callable) -> None:
    async def main() -> None:
        truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"
        async with Upstream(answer(truncated, keep_open=False)) as up:
            pool = UpstreamPool()
            with pytest.raises(UpstreamProtocolError, match="mid-response"):
                await get(pool, up)
            await pool.close()

    run(main())


def test_malformed_response_is_protocol_error(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(b"SMTP ready\r\n\r\n")) as up:
            pool = UpstreamPool()
            with pytest.raises(UpstreamProtocolError, match="malformed"):
                await get(pool, up)
            await pool.close()

    run(main())


def test_timeout_when_server_never_answers(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            start = time.monotonic()
            with pytest.raises(UpstreamTimeout):
                await get(pool, up, timeout=0.2)
            elapsed = time.monotonic() - start
            assert 0.15 < elapsed < 1
            assert not pool._idle.get(("http", "127.0.0.1", up.port, True))  # the connection was dropped
            await pool.close()

    run(main())


def test_connect_refused(run: Callable) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        pool = UpstreamPool()
        with pytest.raises(UpstreamConnectError):
            await pool.request("http", "127.0.0.1", port, "GET", "/", [(b"Host", b"x")], b"", 1)
        await pool.close()

    run(main())


def test_body_over_max_body(run: Callable) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"8\r\n12345678\r\n" * 2 + b"0\r\n\r\n"
    )

    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.target == "/cl":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
        elif req.target == "/chunked":
            writer.write(chunked)
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + b"x" * 10)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool(max_body=10)
            assert (await get(pool, up, target="/exact")).body == b"x" * 10
            for target in ("/cl", "/chunked"):
                with pytest.raises(UpstreamProtocolError, match="exceeds"):
                    await get(pool, up, target=target)
            assert (await get(pool, up, target="/exact")).body == b"x" * 10  # on a new connection
            assert up.connections == 3
            await pool.close()

    run(main())


def test_request_body_and_framing_headers(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK)) as up:
            pool = UpstreamPool()
            headers = [
                (b"Host", b"api.example"),
                (b"content-length", b"999"),
                (b"Transfer-Encoding", b"chunked"),
                (b"CONNECTION", b"close"),
                (b"X-Multi", b"1"),
                (b"X-Multi", b"2"),
            ]
            await get(pool, up, "POST", "/p?q=%20", b"hello world", headers=headers)
            await get(pool, up, "PUT", body=b"", headers=[(b"Host", b"h")])
            await get(pool, up, "GET", headers=[(b"Host", b"h"), (b"Content-Length", b"3")])
            await get(pool, up, "DELETE", body=b"{}", headers=[(b"Host", b"h")])
            post, put, get_, delete = up.requests
            assert (post.method, post.target, post.body) == ("POST", "/p?q=%20", b"hello world")
            assert post.headers == [
                (b"Host", b"api.example"),
                (b"X-Multi", b"1"),
                (b"X-Multi", b"2"),
                (b"Content-Length", b"11"),
            ]
            assert put.headers == [(b"Host", b"h"), (b"Content-Length", b"0")]
            assert get_.headers == [(b"Host", b"h")]
            assert (delete.header(b"content-length"), delete.body) == (b"2", b"{}")
            assert up.connections == 1
            await pool.close()

    run(main())


def test_crlf_injection_refused(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK)) as up:
            pool = UpstreamPool()
            for target, headers in (
                ("/a HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET /b", [(b"Host", b"h")]),
                ("/a b", [(b"Host", b"h")]),
                ("/", [(b"Host", b"h"), (b"X-A", b"v\r\nX-Evil: 1")]),
                ("/", [(b"Host", b"h"), (b"X-A", b"v\nX-Evil: 1")]),
            ):
                with pytest.raises(ValueError):
                    await get(pool, up, target=target, headers=headers)
            assert up.requests == []
            await pool.close()

    run(main())


def test_concurrent_requests(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        body = req.target.encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool(max_idle_per_host=64)
            targets = [f"/{i}" for i in range(50)]
            resps = await asyncio.gather(*(get(pool, up, target=t) for t in targets))
            assert [r.body.decode() for r in resps] == targets
            assert up.connections == 50
            # All 50 connections went back to the pool and are reused by the next burst.
            resps = await asyncio.gather(*(get(pool, up, target=t) for t in targets))
            assert [r.body.decode() for r in resps] == targets
            assert up.connections == 50
            await pool.close()

    run(main())


def test_max_idle_per_host(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.01)
        writer.write(OK)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool(max_idle_per_host=2)
            await asyncio.gather(*(get(pool, up) for _ in range(5)))
            assert len(pool._idle[("http", "127.0.0.1", up.port, True)]) == 2
            await pool.close()

    run(main())


def test_interim_responses_skipped(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.005)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + OK)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            for _ in range(2):
                resp = await get(pool, up, "POST", body=b"data")
                assert (resp.status, resp.body, resp.headers) == (200, b"hello", [(b"Content-Length", b"5")])
            assert up.connections == 1
            await pool.close()

    run(main())


def test_idle_timeout(run: Callable) -> None:
    async def main() -> None:
        async with Upstream(answer(OK)) as up:
            pool = UpstreamPool(idle_timeout=0.05)
            await get(pool, up)
            await asyncio.sleep(0.15)  # the sweep closes the idle connection
            assert not pool._idle
            await get(pool, up)
            assert up.connections == 2
            await pool.close()

    run(main())


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https(run: Callable, tls_files: tuple[str, str]) -> None:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*tls_files)

    async def main() -> None:
        up = Upstream(answer(OK))
        server = await asyncio.start_server(up._serve, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        pool = UpstreamPool()
        hdrs = [(b"Host", b"localhost")]
        for _ in range(3):
            resp = await pool.request("https", "localhost", port, "GET", "/", hdrs, b"", 2, verify_tls=False)
            assert resp.body == b"hello"
        assert up.connections == 1
        with pytest.raises(UpstreamConnectError):  # self-signed: verification fails
            await pool.request("https", "localhost", port, "GET", "/", hdrs, b"", 2)
        await pool.close()
        server.close()

    run(main())


# -- a long response body passed on as it arrives (`stream_from`) -----------------------------------------------


def test_a_long_body_is_streamed_and_its_connection_kept_for_the_next_request(run: Callable) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB

    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        body = big if req.target == "/big" else b"small"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            small = await get(pool, up, target="/small", stream_from=1000)  # shorter than stream_from: whole
            assert (small.body, small.stream) == (b"small", None)
            resp = await get(pool, up, target="/big", stream_from=1000)
            assert resp.body == b"" and resp.stream is not None and resp.stream.length == len(big)
            chunks = [chunk async for chunk in resp.stream.chunks()]
            assert b"".join(chunks) == big and len(chunks) > 1
            assert (await get(pool, up, target="/small", stream_from=1000)).body == b"small"
            assert up.connections == 1  # the streamed exchange gave its connection back
            await pool.close()

    run(main())


def test_a_reader_that_lags_pauses_the_upstream_and_the_deadline_still_bounds_the_body(run: Callable) -> None:
    released = asyncio.Event()

    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (4 << 20) + b"x" * (1 << 20))
        if req.target == "/stall":
            await released.wait()  # the rest never comes
        else:
            writer.write(b"x" * (3 << 20))
        return True

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            resp = await get(pool, up, target="/lag", stream_from=1000)
            assert resp.stream is not None
            await asyncio.sleep(0.3)  # nothing read meanwhile: at most about 256 KiB wait in the stream
            assert resp.stream._waiting < 1 << 20  # (plus what one socket read brings)
            assert len(b"".join([c async for c in resp.stream.chunks()])) == 4 << 20
            stalled = await get(pool, up, target="/stall", stream_from=1000, timeout=0.5)
            assert stalled.stream is not None
            with pytest.raises(UpstreamTimeout):
                async for _ in stalled.stream.chunks():
                    pass
            released.set()
            await pool.close()

    run(main())


def test_an_upstream_that_closes_mid_body_fails_the_stream(run: Callable) -> None:
    async def respond(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + b"y" * 500_000)
        return False

    async def main() -> None:
        async with Upstream(respond) as up:
            pool = UpstreamPool()
            resp = await get(pool, up, stream_from=1000)
            assert resp.stream is not None
            with pytest.raises(UpstreamProtocolError, match="mid-response"):
                async for _ in resp.stream.chunks():
                    pass
            assert not pool._idle.get(("http", "127.0.0.1", up.port, True))
            await pool.close()

    run(main())
