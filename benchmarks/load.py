"""Simulated annotators: each a thread with one keep-alive connection, claiming and submitting."""

import http.client
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_ERRORS_IN_A_ROW = 50  # an annotator stops here rather than hammer a broken server
ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Call:
    kind: str  # "claim" or "submit"
    start: float  # time.perf_counter() when the request was sent
    seconds: float  # until the whole response body was read
    status: int  # HTTP status; 0 when no answer came even on a fresh connection


@dataclass
class Annotator:
    """One annotator's HTTP session: a token, a project and a keep-alive connection."""

    port: int
    token: str
    slug: str
    timeout: float = 60.0
    calls: list[Call] = field(default_factory=list)
    reconnects: int = 0
    ran_dry: bool = False  # the server answered 204: nothing left for this annotator
    error_samples: list[str] = field(default_factory=list)
    _errors_in_a_row: int = 0

    def __post_init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.rng = random.Random(self.token)

    def _post(self, kind: str, path: str, body: dict | None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        start = time.perf_counter()
        status, data = 0, b""
        # A second attempt on a fresh connection covers a keep-alive connection the server
        # closed between requests. Repeating is safe: a claim returns the live lease, and
        # a submit carries its client_token. The latency recorded includes both attempts.
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=payload, headers=headers)
                response = self.conn.getresponse()
                status, data = response.status, response.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                self.conn.close()
                self.reconnects += 1
                data = f"{type(exc).__name__}: {exc} (attempt {attempt})".encode()
        self.calls.append(Call(kind, start, time.perf_counter() - start, status))
        return status, data

    def _note_error(self, kind: str, status: int, data: bytes) -> None:
        self._errors_in_a_row += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(f"{kind} -> {status}: {data[:300].decode(errors='replace')}")

    def cycle(self) -> bool:
        """Claim an item and submit a valid ranking of it; False when this annotator must stop."""
        status, data = self._post("claim", f"/api/v1/projects/{self.slug}/claim/", None)
        if status == 204:
            self.ran_dry = True
            return False
        if status != 200:
            self._note_error("claim", status, data)
            time.sleep(0.05)
            return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
        claimed = json.loads(data)
        ids = [response["id"] for response in claimed["item"]["responses"]]
        self.rng.shuffle(ids)
        body = {"ranking": [[rid] for rid in ids], "client_token": uuid.uuid4().hex}
        status, data = self._post("submit", f"/api/v1/assignments/{claimed['id']}/submit/", body)
        if status != 201:
            self._note_error("submit", status, data)
            return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
        self._errors_in_a_row = 0
        return True


class NextAnnotator(Annotator):
    """One request per annotation: the submit asks for the next item (``"next": true``) and
    its answer carries it; a claim is sent only to get the first item. Calls are recorded
    as "claim" (that first one) and "submit" (each submit-and-next)."""

    claimed: dict | None = None

    def cycle(self) -> bool:
        if self.claimed is None:
            status, data = self._post("claim", f"/api/v1/projects/{self.slug}/claim/", None)
            if status == 204:
                self.ran_dry = True
                return False
            if status != 200:
                self._note_error("claim", status, data)
                time.sleep(0.05)
                return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
            self.claimed = json.loads(data)
        ids = [response["id"] for response in self.claimed["item"]["responses"]]
        self.rng.shuffle(ids)
        body = {"ranking": [[rid] for rid in ids], "client_token": uuid.uuid4().hex, "next": True}
        path = f"/api/v1/assignments/{self.claimed['id']}/submit/"
        status, data = self._post("submit", path, body)
        if status != 201:
            self._note_error("submit", status, data)
            self.claimed = None  # claim again: the live lease comes back if it is still ours
            return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
        self._errors_in_a_row = 0
        self.claimed = json.loads(data).get("next")
        if self.claimed is None:
            self.ran_dry = True
            return False
        return True


@dataclass
class LevelRun:
    annotators: list[Annotator]
    started: float  # perf_counter when every thread was released
    window: tuple[float, float]  # the measured interval (after the warm-up)
    ended: float  # when the last thread finished

    @property
    def calls(self) -> list[Call]:
        return [call for annotator in self.annotators for call in annotator.calls]


def level_run(
    *,
    port: int,
    tokens: list[str],
    slug: str,
    duration: float,
    warmup: float,
    cycles: int,
    annotator: Callable[..., Annotator] = Annotator,
) -> LevelRun:
    """Run one annotator thread per token until the deadline (or for ``cycles`` cycles each).

    ``annotator`` builds each one from (port=, token=, slug=): another server's loop (such as
    benchmarks/label_studio.py's) subclasses Annotator and overrides ``cycle``.
    """
    annotators = [annotator(port=port, token=token, slug=slug) for token in tokens]
    gate = threading.Barrier(len(annotators) + 1)
    plan: dict[str, float] = {}

    def work(annotator: Annotator) -> None:
        gate.wait()
        if cycles:
            for _ in range(cycles):
                if not annotator.cycle():
                    break
            return
        while time.perf_counter() < plan["deadline"] and annotator.cycle():
            pass

    threads = [threading.Thread(target=work, args=(a,), daemon=True) for a in annotators]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    plan["deadline"] = started + warmup + duration
    gate.wait()
    for thread in threads:
        thread.join()
    ended = time.perf_counter()
    for annotator in annotators:
        annotator.conn.close()
    window = (started, ended) if cycles else (started + warmup, plan["deadline"])
    return LevelRun(annotators=annotators, started=started, window=window, ended=ended)


@dataclass(frozen=True)
class FloorRun:
    """GET /healthz (one trivial query) at the same concurrency: what the HTTP stack can do."""

    connections: int
    seconds: float
    requests: int
    errors: int
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def floor_run(*, port: int, connections: int, seconds: float) -> FloorRun:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, failed = [], 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                failed += response.status != 200
            except (http.client.HTTPException, OSError):
                conn.close()
                failed += 1
            mine.append((time.perf_counter() - start) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return FloorRun(connections, elapsed, len(latencies), errors[0], sorted(latencies))
