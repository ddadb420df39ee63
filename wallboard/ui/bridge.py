"""The one crossing from the feed thread to the GUI thread.

``FeedBridge`` implements the feed client's ``FeedSink``; its methods run on the feed thread.

Queued mode (``use_queue()``, what the board's controller asks for): snapshots and batches are queued, in
arrival order, under a lock, and the GUI thread is woken by ONE queued ``data_pending`` signal, sent only
when no wake-up is outstanding: whatever arrives before the GUI thread calls ``take()`` rides along.
So the GUI wakes at most once per drain, however many batches the feed sends (at 300 events/s it sends ~100
small frames a second), and a snapshot and the batches after it reach the consumer in order.
Nothing is copied or touched: the lists are handed over.

Otherwise (the default) each snapshot and batch is emitted as it comes, by ``snapshot_received`` or
``events_received``: one queued call carrying the whole snapshot or batch, never one per event.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal

Item = tuple[Literal["snapshot", "events"], Any, int]  # (kind, engine snapshot dict | list[Event], seq)


class FeedBridge(QObject):
    data_pending = Signal()  # something to take(); sent once per drain, not per batch
    snapshot_received = Signal(object, int)  # (engine snapshot dict, seq)
    events_received = Signal(object, int)  # (list[Event], last seq)
    status_changed = Signal(object)  # FeedStatus

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: list[Item] = []
        self._woken = False  # a data_pending signal is on its way and nobody has taken the items yet
        self._queued = False

    def use_queue(self) -> None:
        """Queue snapshots and batches for ``take()`` (woken by ``data_pending``) instead of emitting each."""
        self._queued = True

    # FeedSink, called on the feed thread -------------------------------------------------------
    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        if self._queued:
            self._put(("snapshot", snapshot, seq))
        else:
            self.snapshot_received.emit(snapshot, seq)

    def on_events(self, events: list[Any], last_seq: int) -> None:
        if not events:
            return
        if self._queued:
            self._put(("events", events, last_seq))
        else:
            self.events_received.emit(events, last_seq)

    def on_status(self, status: Any) -> None:
        self.status_changed.emit(status)

    def _put(self, item: Item) -> None:
        with self._lock:
            self._items.append(item)
            wake = not self._woken
            self._woken = True
        if wake:
            self.data_pending.emit()

    # GUI thread ----------------------------------------------------------------------------------
    def take(self) -> list[Item]:
        """Everything queued since the last call, oldest first; the next item wakes the GUI again."""
        with self._lock:
            items, self._items = self._items, []
            self._woken = False
        return items
