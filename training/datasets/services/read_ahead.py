"""Run a generator one step ahead in a thread, so database reads overlap the work on what
they return.

An export spends its time in two places: waiting on PostgreSQL for a chunk's rows
(psycopg releases the GIL while it waits) and building and writing rows in Python. On
two cores the two overlap when the next chunk is read while the current one is written:
measured on the export benchmark, about a quarter of the export's wall time.

The thread has its own database connection (Django's are per thread), so it sees only
committed data: the caller reads in line instead when it is inside a transaction, whose
uncommitted rows another connection could not see. The thread closes its connection
when it ends; the consumer stopping early (cancel, error) stops the thread.
"""

import queue
import threading
from collections.abc import Callable, Iterator

from django.db import connection
from django.db import connection as own

_POLL_S = 0.1


def read_ahead(make: Callable[[], Iterator], *, depth: int = 1) -> Iterator:
    """The values of ``make()``, produced ``depth`` steps ahead in a thread when this
    connection may share its view of the database with another one, else in line."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from make()
        return
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message) -> bool:
        while not stop.is_set():
            try:
                handoff.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:

        try:
            for value in make():
                if not put(("value", value)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))
        finally:
            own.close()

    worker = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()
