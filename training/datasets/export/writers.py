"""JSONL and Parquet files of one format and split, written in chunks.

Each format has one Arrow schema (per prompt style), so Parquet files carry exact types
and JSONL objects keep the schema's column order. Rows arrive in a deterministic order
and Parquet row groups are cut every ``ROW_GROUP`` rows, so the same rows give the same
bytes. Memory stays at one chunk of rows per open file.
"""

import hashlib
import os
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 20000

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
TURNS = pa.list_(MESSAGE)
PROVENANCE = pa.list_(
    pa.struct(
        [
            ("annotator", pa.string()),
            ("guideline_version", pa.int64()),
            ("time_spent_ms", pa.int64()),
            ("shown_order", pa.list_(pa.int64())),
            ("assisted", pa.bool_()),
            ("review", pa.string()),
            ("created_at", pa.string()),
        ]
    )
)
BASE = [
    ("item_id", pa.int64()),
    ("round", pa.int64()),
    ("annotator", pa.string()),
    ("weight", pa.float64()),
    ("prompt_pasted", pa.bool_()),
    ("provenance", PROVENANCE),
]
SPAN = pa.struct(
    [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("note", pa.string())]
)


def schema_of(fmt: str, style: str) -> pa.Schema:
    text = TURNS if style == "conversational" else pa.string()
    completion = TURNS if style == "conversational" else pa.string()
    fields = {
        "pairwise": [
            ("prompt", text),
            ("chosen", completion),
            ("rejected", completion),
            ("margin", pa.float64()),
            ("soft_label", pa.float64()),
            ("none_acceptable", pa.bool_()),
            ("chosen_id", pa.int64()),
            ("rejected_id", pa.int64()),
            ("chosen_model", pa.string()),
            ("rejected_model", pa.string()),
            ("chosen_generation", pa.string()),
            ("rejected_generation", pa.string()),
            ("chosen_pasted", pa.bool_()),
            ("rejected_pasted", pa.bool_()),
        ],
        "listwise": [
            ("prompt", text),
            ("responses", pa.list_(completion)),
            ("ranking", pa.list_(pa.list_(pa.int64()))),
            ("ratings", pa.list_(pa.float64())),
            ("none_acceptable", pa.bool_()),
            ("response_ids", pa.list_(pa.int64())),
            ("response_models", pa.list_(pa.string())),
            ("responses_pasted", pa.list_(pa.bool_())),
        ],
        "sft": [
            ("messages", TURNS),
            ("source", pa.string()),
            ("response_id", pa.int64()),
            ("response_model", pa.string()),
            ("response_pasted", pa.bool_()),
        ],
        "ratings": [
            ("prompt", text),
            ("response", completion),
            ("rating", pa.float64()),
            ("scale", pa.int64()),
            ("rubric", pa.string()),
            ("response_id", pa.int64()),
            ("response_model", pa.string()),
            ("response_pasted", pa.bool_()),
        ],
        "spans": [
            ("prompt", text),
            ("response", pa.string()),
            ("spans", pa.list_(SPAN)),
            ("labels", pa.list_(pa.string())),
            ("response_id", pa.int64()),
            ("response_model", pa.string()),
        ],
    }[fmt]
    return pa.schema(fields + BASE)


# Every this many bytes a JSONL writer tells the kernel it will not read its file back:
# pages already written to disk leave the page cache, so a 10 GB export does not push the
# database (on the same host) out of memory. Pages still dirty are kept until written.
DROP_CACHE_BYTES = 64 << 20


class JsonlWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.columns, self.rows = path, schema.names, 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()
        self._unadvised = 0

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        columns = self.columns
        if list(rows[0]) != columns:  # the builders emit schema order; anything else is sorted
            rows = [{c: row[c] for c in columns} for row in rows]
        # orjson: UTF-8 as is (like ensure_ascii=False), compact, several times json's speed.
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        data = b"".join(dumps(row, option=newline) for row in rows)
        self._hash.update(data)
        self._file.write(data)
        self.rows += len(rows)
        self._unadvised += len(data)
        if self._unadvised >= DROP_CACHE_BYTES and hasattr(os, "posix_fadvise"):
            self._file.flush()
            os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            self._unadvised = 0

    def close(self) -> str:
        self._file.close()
        return self._hash.hexdigest()


class ParquetWriter:
    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.rows = path, schema, 0
        self._pending: list[dict] = []
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def _flush(self, rows: list[dict]) -> None:
        if rows:
            table = pa.Table.from_pylist(rows, schema=self.schema)
            self._writer.write_table(table, row_group_size=ROW_GROUP)

    def write(self, rows: list[dict]) -> None:
        self._pending.extend(rows)
        self.rows += len(rows)
        # Whole row groups only, so group boundaries never depend on how rows arrived.
        while len(self._pending) >= ROW_GROUP:
            self._flush(self._pending[:ROW_GROUP])
            del self._pending[:ROW_GROUP]

    def close(self) -> str:
        self._flush(self._pending)
        self._pending = []
        self._writer.close()
        return file_sha256(self.path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


WRITERS = {"jsonl": JsonlWriter, "parquet": ParquetWriter}
