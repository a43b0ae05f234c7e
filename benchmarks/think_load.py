"""Annotators who think between items: thousands of them in one asyncio loop.

Each simulated annotator holds one keep-alive HTTP/1.1 connection (raw
``asyncio.open_connection``; no dependency beyond the standard library), claims an
item, then loops: think a random 10-30 s, submit a ranking that also asks for the
next item (``"next": true``), so one request per annotation. A thread per annotator
would cost the load generator more CPU than the server at these counts.
"""

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

REQUEST_TIMEOUT_S = 60.0
ERROR_SAMPLES = 10


@dataclass(frozen=True)
class Call:
    kind: str  # "claim" (first item, or the fallback when a submit carries no "next") or "submit"
    start: float  # perf_counter when the request was about to be sent (connecting included)
    seconds: float  # until the whole body was read
    status: int  # HTTP status; 0 when no answer came, even on a fresh connection
    reconnected: bool  # a new TCP connection was opened for this call


@dataclass
class Recorder:
    """Every call of every annotator, and what the run learned about the server's answers."""

    calls: list[Call] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    next_missing: int = 0  # 201 answers without a "next" key: fell back to a claim request
    next_refused: int = 0  # 201 answers whose "next_refused" was set
    ran_dry: int = 0  # annotators that got nothing more (204, or "next": null)
    submits_cut: int = 0  # submits in flight when the run ended: stored or not, unseen
    started: int = 0  # annotators started so far
    stopping: bool = False  # set when the ramp ends: no annotator starts another request

    def error(self, text: str) -> None:
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(text[:300])


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened when the server has closed it."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = f"Authorization: Token {token}\r\nHost: 127.0.0.1\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _ensure_open(self) -> bool:
        """Open the connection if there is none or the server closed it; True if opened."""
        if self.writer is not None and not self.reader.at_eof() and not self.writer.is_closing():
            return False
        self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return True

    async def _exchange(self, head: bytes, payload: bytes) -> tuple[int, bytes]:
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection before answering")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = value == "close"
        if chunked:
            body = bytearray()
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                body += await self.reader.readexactly(size + 2)
                del body[-2:]
            await self.reader.readline()  # the blank line after the last chunk
            body = bytes(body)
        else:
            body = await self.reader.readexactly(length or 0)
        if close:
            self.close()
        return status, body

    async def post(self, path: str, body: dict | None) -> tuple[int, bytes, bool]:
        """POST ``body`` as JSON; (status, body, reconnected). Status 0: no answer at all.

        A second attempt on a fresh connection covers one the server closed just as we
        sent. Repeating is safe: a claim returns the live lease and a submit carries
        its client_token.
        """
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"POST {path} HTTP/1.1\r\n{self.headers}Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        reconnected, failure = False, b""
        for attempt in (1, 2):
            try:
                reconnected |= await self._ensure_open()
                # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation
                # that lands as the answer arrives, and the annotator then never stops.
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    status, data = await self._exchange(head, payload)
                return status, data, reconnected
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                self.close()
                failure = f"{type(exc).__name__}: {exc} (attempt {attempt})".encode()
        return 0, failure, reconnected


@dataclass(frozen=True)
class Plan:
    port: int
    slug: str
    think_min_s: float  # think time per item, uniform between the two
    think_max_s: float
    seed: int


async def _timed(
    conn: Connection, rec: Recorder, kind: str, path: str, body: dict | None
) -> tuple[int, bytes]:
    start = time.perf_counter()
    try:
        status, data, reconnected = await conn.post(path, body)
    except asyncio.CancelledError:
        rec.submits_cut += kind == "submit"
        raise
    rec.calls.append(Call(kind, start, time.perf_counter() - start, status, reconnected))
    if not 200 <= status < 300:
        rec.error(f"{kind} -> {status}: {data[:250].decode(errors='replace')}")
    return status, data


async def _claim(conn: Connection, rec: Recorder, plan: Plan) -> dict | None:
    """Claim until an item comes (retrying errors after a pause); None when nothing is left."""
    while not rec.stopping:
        status, data = await _timed(
            conn, rec, "claim", f"/api/v1/projects/{plan.slug}/claim/", None
        )
        if status == 200:
            return json.loads(data)
        if status == 204:
            return None
        await asyncio.sleep(1.0)
    return None


async def annotator_run(token: str, delay: float, plan: Plan, rec: Recorder) -> None:
    """Start after ``delay`` s, claim, then think -> submit(+next) until the pool is empty."""
    rng = random.Random(f"{plan.seed}:{token}")
    conn = Connection(plan.port, token)
    try:
        await asyncio.sleep(delay)
        rec.started += 1
        assignment = await _claim(conn, rec, plan)
        while assignment is not None:
            await asyncio.sleep(rng.uniform(plan.think_min_s, plan.think_max_s))
            if rec.stopping:
                return
            ids = [response["id"] for response in assignment["item"]["responses"]]
            rng.shuffle(ids)
            body = {
                "ranking": [[rid] for rid in ids],
                "client_token": uuid.uuid4().hex,
                "next": True,  # the answer carries the next item: one request per annotation
            }
            path = f"/api/v1/assignments/{assignment['id']}/submit/"
            status, data = await _timed(conn, rec, "submit", path, body)
            if status not in (200, 201):
                # The lease is still ours: the claim hands it back, and we try again.
                await asyncio.sleep(1.0)
                assignment = await _claim(conn, rec, plan)
                continue
            answer = json.loads(data)
            if "next" not in answer:
                rec.next_missing += 1
                assignment = await _claim(conn, rec, plan)
                continue
            rec.next_refused += answer.get("next_refused") is not None
            assignment = answer["next"]
        rec.ran_dry += not rec.stopping
    finally:
        conn.close()


@dataclass(frozen=True)
class Level:
    annotators: int
    ramp_start: float  # perf_counter when this level's new annotators began to arrive
    window: tuple[float, float]  # the measured interval, after the ramp-in
    measured: dict  # whatever ``on_window`` returned (CPU used, load average, ...)


async def ramp_run(
    *,
    levels: list[int],
    tokens: list[str],
    plan: Plan,
    ramp_in_s: float,
    duration_s: float,
    on_window: Callable[[], Awaitable[Callable[[], dict]]],
    should_stop: Callable[[Recorder, Level], bool],
    say: Callable[[str], None],
) -> tuple[Recorder, list[Level]]:
    """Add annotators level by level; measure each level after its ramp-in; stop when told.

    A level's new annotators arrive evenly spaced over ``ramp_in_s`` (the first think
    interval, so arrivals are smooth); annotators of earlier levels keep working.
    ``on_window`` is awaited when a window opens and returns the function that closes it.
    """
    rec, done, tasks = Recorder(), [], []
    running = 0
    try:
        for n in levels:
            ramp_start = time.perf_counter()
            new = tokens[running:n]
            for i, token in enumerate(new):
                delay = ramp_in_s * i / len(new)
                tasks.append(asyncio.create_task(annotator_run(token, delay, plan, rec)))
            running = n
            say(f"level {n}: {len(new)} more annotators arriving over {ramp_in_s:.0f} s")
            await asyncio.sleep(ramp_in_s)
            close_window = await on_window()
            begin = time.perf_counter()
            await asyncio.sleep(duration_s)
            end = time.perf_counter()
            level = Level(n, ramp_start, (begin, end), close_window())
            done.append(level)
            if should_stop(rec, level):
                break
    finally:
        rec.stopping = True
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S)
            if pending:
                say(f"{len(pending)} annotators did not stop; left behind")
    return rec, done
