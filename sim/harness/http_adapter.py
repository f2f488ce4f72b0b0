"""The ``http:`` / ``https:`` adapter: POST one case, read one verdict (HARNESS.md 1).

Bounded concurrency (a thread pool, one keep-alive connection per thread), a timeout
per case, and retries with exponential backoff on connection errors only: an HTTP error
status or a bad body is that case's ``sut-error`` at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from .adapters import (
    DEFAULT_TIMEOUT,
    HTTP_CONCURRENCY,
    HTTP_RETRIES,
    Adapter,
    AdapterError,
    SutError,
    read_verdict,
)

__all__ = ["HttpAdapter"]


class HttpAdapter(Adapter):
    """``http://HOST:PORT/PATH``: POST one case, read one verdict; bounded concurrency."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT,
                 concurrency: int = HTTP_CONCURRENCY, backoff: float = 0.1) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AdapterError(f"{url!r} is not an http:// or https:// URL with a host")
        self.name = url
        self.parts = parts
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.backoff = backoff
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="planshift-http")

    def _connection(self, fresh: bool = False) -> Any:
        import http.client

        connection = getattr(self.local, "connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            factory = (http.client.HTTPSConnection if self.parts.scheme == "https"
                       else http.client.HTTPConnection)
            connection = factory(self.parts.hostname, self.parts.port, timeout=self.timeout)
            self.local.connection = connection
        return connection

    def _post(self, case: dict[str, Any]) -> dict[str, Any] | SutError:
        body = json.dumps(case, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        last = ""
        for attempt in range(HTTP_RETRIES + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))  # exponential backoff
            connection = self._connection(fresh=attempt > 0)
            try:
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                data = response.read()
            except TimeoutError:
                self._connection(fresh=True)
                return SutError(f"no answer within {self.timeout:g} s")
            except (ConnectionError, OSError) as error:
                last = f"{type(error).__name__}: {error}"
                continue  # connection errors only are retried
            except Exception as error:  # a protocol error: the SUT's answer is unusable
                self._connection(fresh=True)
                return SutError(f"bad HTTP response: {type(error).__name__}: {error}")
            if response.status != 200:
                return SutError(f"HTTP status {response.status}: {data[:80]!r}")
            return read_verdict(data, case.get("case_id"))
        return SutError(f"connection failed {HTTP_RETRIES + 1} times: {last}")

    def stream(self, items: Iterable[tuple[Any, dict[str, Any]]]
               ) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any] | SutError]]:
        window: deque[tuple[Any, dict[str, Any], Future]] = deque()
        for key, case in items:
            window.append((key, case, self.pool.submit(self._post, case)))
            if len(window) >= self.concurrency * 4:
                head_key, head_case, future = window.popleft()
                yield head_key, head_case, future.result()
        while window:
            head_key, head_case, future = window.popleft()
            yield head_key, head_case, future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
