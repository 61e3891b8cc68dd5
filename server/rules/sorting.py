"""Putting events in processing order with flat memory.

Processing order is (``occurred_at`` instant, ``id``); equal keys keep file order, so
of two identical events the first in the file stands and the second is the duplicate.
Lines that cannot be ordered (not JSON, no usable ``id`` or ``occurred_at``) come
first, in file order: the evaluator rejects them.

For a file, a first pass reads every line's key. Small inputs are then sorted in
memory; large inputs already in order (the usual export) are streamed by a second
pass; large unordered inputs are sorted in chunks written to temporary files and
merged with :func:`heapq.merge`. Memory stays bounded by the chunk sizes.
"""

from __future__ import annotations

import heapq
import json
import marshal
import os
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from server.rules.events import read_header

#: Events sorted in memory when the whole input is at most this long.
IN_MEMORY_EVENTS = 20_000
#: Raw lines per sorted chunk file for large unordered inputs.
CHUNK_LINES = 200_000

_BOM = b"\xef\xbb\xbf"
SortKey = tuple[int, str, int]


def parse_event_line(raw: bytes | str) -> object:
    """One JSON line → its value (decimals as ``Decimal``), or ``None`` if not JSON."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=str)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError
        return None


def _key(obj: object, line_no: int) -> SortKey | None:
    header = read_header(obj)
    if isinstance(header, tuple):
        return None
    return (header.instant_us, header.id, line_no)


def _numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_no, raw in enumerate(handle):
        if line_no == 0 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.strip():
            yield line_no, raw


def sorted_events(
    source: Path | str | Iterable[object],
    *,
    in_memory: int = IN_MEMORY_EVENTS,
    chunk_lines: int = CHUNK_LINES,
    tmp_dir: str | None = None,
) -> Iterator[object]:
    """Events (parsed JSON values) in processing order; unorderable lines first.

    ``source`` is a path to a JSON lines file (streamed with bounded memory) or an
    iterable of lines (``str``/``bytes``) or already parsed events (sorted in memory).
    Raises ``OSError`` if the file cannot be read.
    """
    if isinstance(source, str | Path):
        yield from _sorted_file(Path(source), in_memory, chunk_lines, tmp_dir)
        return
    keyed: list[tuple[SortKey, object]] = []
    for line_no, item in enumerate(source):
        if isinstance(item, str | bytes):
            if not item.strip():
                continue
            item = parse_event_line(item)
        key = _key(item, line_no)
        if key is None:
            yield item
        else:
            keyed.append((key, item))
    keyed.sort(key=lambda pair: pair[0])
    for _, item in keyed:
        yield item


def _sorted_file(
    path: Path, in_memory: int, chunk_lines: int, tmp_dir: str | None
) -> Iterator[object]:
    buffer: list[tuple[SortKey, object]] | None = []
    in_order = True
    previous: SortKey | None = None
    with path.open("rb") as handle:
        for line_no, raw in _numbered_lines(handle):
            obj = parse_event_line(raw)
            key = _key(obj, line_no)
            if key is None:
                yield obj
                continue
            if previous is not None and key < previous:
                in_order = False
            previous = key
            if buffer is not None:
                buffer.append((key, obj))
                if len(buffer) > in_memory:
                    buffer = None  # too large to hold: a second pass will read the file
    if buffer is not None:
        buffer.sort(key=lambda pair: pair[0])
        for _, obj in buffer:
            yield obj
    elif in_order:
        yield from _ordered_pass(path)
    else:
        yield from _external_sort(path, chunk_lines, tmp_dir)


def _ordered_pass(path: Path) -> Iterator[object]:
    with path.open("rb") as handle:
        for line_no, raw in _numbered_lines(handle):
            obj = parse_event_line(raw)
            if _key(obj, line_no) is not None:
                yield obj


def _external_sort(path: Path, chunk_lines: int, tmp_dir: str | None) -> Iterator[object]:
    with tempfile.TemporaryDirectory(prefix="pf-sort-", dir=tmp_dir) as workdir:
        chunk_paths: list[str] = []
        chunk: list[tuple[int, str, int, bytes]] = []

        def spill() -> None:
            chunk.sort()
            chunk_path = os.path.join(workdir, f"chunk-{len(chunk_paths)}")
            with open(chunk_path, "wb") as out:
                for record in chunk:
                    marshal.dump(record, out)
            chunk_paths.append(chunk_path)
            chunk.clear()

        with path.open("rb") as handle:
            for line_no, raw in _numbered_lines(handle):
                key = _key(parse_event_line(raw), line_no)
                if key is not None:
                    chunk.append((*key, raw))
                    if len(chunk) >= chunk_lines:
                        spill()
        if chunk:
            spill()
        readers = [_read_chunk(p) for p in chunk_paths]
        for record in heapq.merge(*readers):
            yield parse_event_line(record[3])


def _read_chunk(chunk_path: str) -> Iterator[tuple[Any, ...]]:
    with open(chunk_path, "rb") as handle:
        while True:
            try:
                yield marshal.load(handle)
            except EOFError:
                return
