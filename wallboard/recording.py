"""Recordings: JSON Lines, one event per line in ts order, plain (.jsonl) or gzip (.jsonl.gz)."""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from wallboard.core.protocol import Event, ParsedBatch, Rejected, dump_event, parse_lines

CHUNK_LINES = 5000


def _open_read(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_chunks(path: str | Path, chunk_lines: int = CHUNK_LINES) -> Iterator[ParsedBatch]:
    """Parse a recording in chunks; rejected lines carry their 1-based line numbers.

    A damaged .gz (cut short by a killed writer or a full disk, or corrupt) gives every line before the
    damage, then one ``Rejected`` saying where reading stopped, instead of an exception that would also lose
    the lines already decompressed.
    """
    path = Path(path)
    with _open_read(path) as fh:
        first = 1
        while True:
            buf: list[bytes] = []
            damage = None
            try:
                buf.extend(islice(fh, chunk_lines))  # extend keeps the lines read before an error
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                damage = f"recording damaged, reading stopped: {exc}"
            if not buf and damage is None:
                return
            batch = parse_lines(buf, first)
            first += len(buf)
            if damage is not None:
                batch.rejected.append(Rejected(first, "invalid", damage))
                yield batch
                return
            yield batch


def read_events(path: str | Path) -> Iterator[Event]:
    for chunk in read_chunks(path):
        yield from chunk.events


class RecordingWriter:
    """Writes events as JSON Lines; gzip when the name ends in .gz. Deterministic bytes for equal input."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        raw = open(self.path, "wb")  # noqa: SIM115 - owned by this writer, closed in close()
        if self.path.suffix == ".gz":
            # mtime=0 and no file name in the header: the same events give byte-identical files.
            self._gz: gzip.GzipFile | None = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
            self._fh: IO[bytes] = self._gz
        else:
            self._gz = None
            self._fh = raw
        self._raw = raw
        self._text = io.TextIOWrapper(self._fh, encoding="utf-8", newline="\n", write_through=False)
        self.count = 0

    def write(self, event: Event) -> None:
        self._text.write(dump_event(event))
        self._text.write("\n")
        self.count += 1

    def write_many(self, events: Iterable[Event]) -> None:
        for e in events:
            self.write(e)

    def close(self) -> None:
        try:
            self._text.flush()
            self._text.detach()
            if self._gz is not None:
                self._gz.close()
        except BaseException:
            # A failed flush (a full disk) must still release the file; the first error is the one to report.
            for layer in (self._text, self._gz):
                with contextlib.suppress(Exception):
                    if layer is not None:
                        layer.close()
            raise
        finally:
            self._raw.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
