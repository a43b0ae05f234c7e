"""A client for OpenAI-compatible chat endpoints (OpenAI, vLLM, TGI, llama.cpp, or
``python -m training.ml.openai_server``), with retries and a client-side rate limit.

    client = OpenAIChatClient("http://host:8001/v1", "model-name", api_key=key)
    completions = client.complete(messages, 4, temperature=0.8, top_p=0.95, max_tokens=256)

``complete`` POSTs ``{base_url}/chat/completions`` and returns n ``Completion`` (text,
finish_reason). Endpoints that return fewer choices than asked (some ignore ``n``) are
asked again for the rest; when a ``seed`` is given, each of those further requests adds
one to it, or an endpoint that ignores ``n`` would repeat its one answer.

What is retried, with exponential backoff and jitter (or the server's ``Retry-After``,
in seconds, when it sends one), up to ``max_retries`` times after the first attempt:
timeouts, failed connections, HTTP 408, 429 and 5xx. Everything else fails at once with
``GenerationRequestFailed``: other 4xx (a bad key, a bad request), and replies that are
not JSON or lack ``choices[i].message.content``. Its message is one line naming the
endpoint and what went wrong, e.g. ``POST http://h:8001/v1/chat/completions: timed out
after 4 attempts (timeout 60 s)`` or ``...: HTTP 401: <the server's message>``.

``requests_per_minute`` spaces the requests of this client (every attempt counts) with
a thread-safe token bucket holding one request, so no burst goes over the rate.
The API key goes only into the ``Authorization`` header: never into a message or a log
line (a server that echoes it has it replaced by ``***``).

No Django and no torch here: httpx only.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass

import httpx

logger = logging.getLogger(__name__)

RETRIED_STATUSES = {408, 429}  # and every 5xx
MAX_WAIT_S = 300.0  # the longest pause before a retry, whatever Retry-After says


class GenerationRequestFailed(RuntimeError):
    """The endpoint could not give the completions; the message says why, in one line."""


@dataclass(frozen=True)
class Completion:
    text: str  # the assistant message's content, as the endpoint returned it
    finish_reason: str | None  # "stop", "length", ...; None when the endpoint did not say


class RateLimiter:
    """A token bucket of one request refilled at ``per_minute``: ``acquire`` waits for
    this caller's turn (turns are handed out in order, across threads)."""

    def __init__(self, per_minute: float):
        if per_minute <= 0:
            raise ValueError(f"requests_per_minute must be above 0, not {per_minute}")
        self.interval = 60.0 / per_minute
        self._next = time.monotonic()  # when the next request may start
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def _retry_after(response: httpx.Response) -> float | None:
    """The server's wait, in seconds (``retry-after-ms`` or ``Retry-After``); None when
    absent or an HTTP date."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(response.headers[name]) * scale)
        except (KeyError, ValueError):
            continue
    return None


def _server_message(response: httpx.Response) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the start of the body."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    text = str(message) if message else response.text.strip() or response.reason_phrase
    return " ".join(text.split())[:300]


def choices_of(reply) -> list[Completion]:
    """The completions of a ``chat.completion`` reply, in ``index`` order."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ValueError("malformed reply: choices missing")
    if all(isinstance(c, dict) and isinstance(c.get("index"), int) for c in choices):
        choices = sorted(choices, key=lambda c: c["index"])
    out = []
    for n, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise ValueError(f"malformed reply: choices[{n}].message.content missing")
        reason = choice.get("finish_reason")
        out.append(Completion(content, reason if isinstance(reason, str) else None))
    return out


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


class OpenAIChatClient:
    """Chat completions from one model of an OpenAI-compatible endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        requests_per_minute: float | None = None,
        limiter=None,
        transport=None,
    ):
        """
        Args:
            base_url: the API root, e.g. ``http://host:8001/v1``.
            model: the model id the endpoint serves (sent as ``model``).
            api_key: sent as ``Authorization: Bearer``; None sends none.
            timeout_s: each of connect, read, write and pool wait, per attempt.
            max_retries: retries after the first attempt (so 1 + max_retries in all).
            backoff_s: the first pause; the k-th retry waits ``backoff_s * 2**(k-1)``,
                scaled by a random factor in [0.5, 1.5).
            requests_per_minute: client-side limit over all attempts; None: no limit.
            limiter: anything with ``acquire()`` to pace the attempts instead (a rate
                shared between processes); overrides ``requests_per_minute``.
            transport: an ``httpx`` transport (e.g. ``httpx.MockTransport``), else the
                network.
        """
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL such as http://host:8001/v1")
        if max_retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise ValueError("max_retries and backoff_s must be 0 or more, timeout_s above 0")
        self.base_url, self.model = base_url.rstrip("/"), model
        self.endpoint = f"{self.base_url}/chat/completions"
        self.timeout_s, self.max_retries, self.backoff_s = timeout_s, max_retries, backoff_s
        self._api_key = api_key
        if limiter is None and requests_per_minute:
            limiter = RateLimiter(requests_per_minute)
        self._limiter = limiter
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    def __repr__(self) -> str:
        return f"OpenAIChatClient({self.base_url!r}, {self.model!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OpenAIChatClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def complete(
        self,
        messages: list[dict],
        n: int,
        *,
        temperature: float,
        top_p: float,
        max_tokens: int,
        seed: int | None = None,
    ) -> list[Completion]:
        """n completions of the conversation ``messages`` ({role, content} dicts).

        Raises:
            GenerationRequestFailed: the endpoint failed (after retries, where retried).
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        out: list[Completion] = []
        for asked in range(n):  # each request brings at least one: n requests at most
            payload = {
                "model": self.model,
                "messages": messages,
                "n": n - len(out),
                "temperature": temperature,
                "top_p": top_p,
                "max_tokens": max_tokens,
            }
            if seed is not None:
                payload["seed"] = seed + asked
            try:
                out.extend(choices_of(self._post(payload))[: n - len(out)])
            except ValueError as exc:  # malformed: asking again would not help
                raise self._failed(str(exc)) from None
            if len(out) == n:
                break
        return out

    def _failed(self, what: str) -> GenerationRequestFailed:
        if self._api_key:
            what = what.replace(self._api_key, "***")
        return GenerationRequestFailed(f"POST {self.endpoint}: {what}")

    def _post(self, payload: dict):
        """The parsed JSON reply of a successful POST, retrying what is worth retrying."""
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            if self._limiter is not None:
                self._limiter.acquire()
            wait = None
            try:
                response = self._http.post(self.endpoint, json=payload, headers=headers)
            except httpx.TimeoutException:
                what, detail = "timed out", f" (timeout {self.timeout_s:g} s)"
            except httpx.TransportError as exc:
                what, detail = "connection failed", f" ({type(exc).__name__}: {exc})"
            except httpx.RequestError as exc:  # undecodable body, redirect loop: no retry
                raise self._failed(f"{type(exc).__name__}: {exc}") from None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return self._json_of(response)
                what, detail = f"HTTP {status}", f": {_server_message(response)}"
                if status not in RETRIED_STATUSES and status < 500:
                    raise self._failed(what + detail)
                wait = _retry_after(response)
            if attempt == attempts:
                raise self._failed(f"{what} after {_attempts(attempts)}{detail}")
            wait = self._backoff(attempt) if wait is None else min(wait, MAX_WAIT_S)
            failed = self._failed(f"{what} on attempt {attempt} of {attempts}{detail}")
            logger.warning("%s; retrying in %.2f s", failed, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()), MAX_WAIT_S)

    def _json_of(self, response: httpx.Response):
        try:
            return response.json()
        except ValueError:
            start = " ".join(response.text.split())[:120]
            raise self._failed(f"not JSON: {start!r}") from None
