"""The one crossing from the feed thread to the GUI thread.

``FeedBridge`` implements the feed client's ``FeedSink``. Its methods run on the feed thread and only emit
signals; the receivers live on the GUI thread and are connected with ``Qt.QueuedConnection``, so each
snapshot, batch or status crosses as ONE queued call carrying the whole object (never one per event).
The bridge owns no state and does no work: the batch list is handed over, not copied or touched again.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class FeedBridge(QObject):
    snapshot_received = Signal(object, int)  # (engine snapshot dict, seq)
    events_received = Signal(object, int)  # (list[Event], last seq)
    status_changed = Signal(object)  # FeedStatus

    # FeedSink, called on the feed thread -------------------------------------------------------
    def on_snapshot(self, snapshot: dict, seq: int) -> None:
        self.snapshot_received.emit(snapshot, seq)

    def on_events(self, events: list[Any], last_seq: int) -> None:
        if events:
            self.events_received.emit(events, last_seq)

    def on_status(self, status: Any) -> None:
        self.status_changed.emit(status)
