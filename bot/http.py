"""python-telegram-bot's requests over aiohttp's client instead of httpx.

PTB's default client (httpx, over httpcore and anyio) cost about as much CPU per Bot API call
as the rest of a turn's sending (`bench/bench_load.py`); aiohttp, which serves our webhook
already, parses HTTP in C. Bodies are JSON (what the Bot API takes, except for uploads),
uploads multipart. Errors map as PTB's own client maps them: a timeout is `TimedOut` (the
request may have reached Telegram), anything else on the wire `NetworkError`.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's HTTPXRequest defaults (seconds)
CONNECT, READ, WRITE, POOL, MEDIA_WRITE = 5.0, 5.0, 5.0, 1.0, 20.0


class AiohttpRequest(BaseRequest):
    """A PTB request class over one `aiohttp.ClientSession` (its pool of connections)."""

    def __init__(self, connection_pool_size: int = 256, *, read_timeout: float | None = READ,
                 connect_timeout: float | None = CONNECT, pool_timeout: float | None = POOL,
                 write_timeout: float | None = WRITE,
                 media_write_timeout: float | None = MEDIA_WRITE) -> None:
        self._pool_size = connection_pool_size
        self._read, self._connect, self._pool = read_timeout, connect_timeout, pool_timeout
        self._write, self._media_write = write_timeout, media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        write = _given(write_timeout, self._media_write if files else self._write)
        read = _given(read_timeout, self._read)
        timeout = aiohttp.ClientTimeout(
            # waiting for a pooled connection, then connecting
            connect=_sum(_given(pool_timeout, self._pool), _given(connect_timeout, self._connect)),
            sock_connect=_given(connect_timeout, self._connect),
            # aiohttp has no write timeout of its own: the whole exchange is bounded instead
            total=_sum(write, read) if files else None, sock_read=read)
        body: Any = None
        headers: dict[str, str] = {}
        if files and request_data is not None:
            body = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                body.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data is not None:
            body = json.dumps(request_data.parameters).encode()
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # incl. aiohttp's own timeouts
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _given(value: Any, default: float | None) -> float | None:
    """A timeout the call gave (None: no limit), or ours when it gave none."""
    return default if isinstance(value, DefaultValue) else value


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b
