"""The cheap paths that keep the board within its CPU budget: the bridge's coalesced queue, and widgets that
repaint only what changed (offscreen, real widgets)."""

from __future__ import annotations

import dataclasses
import threading
import time

from PySide6.QtCore import QObject, QRect, Qt, QThread, Slot
from PySide6.QtWidgets import QApplication

from wallboard.core import protocol as p
from wallboard.core.board_config import BoardConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import LinkStatus
from wallboard.ui.agent_board import AgentBoardWidget
from wallboard.ui.bridge import FeedBridge
from wallboard.ui.figure_tile import FigureTileWidget
from wallboard.ui.window import BoardWindow


def _window(qtbot, size=(1920, 1080)) -> BoardWindow:
    w = BoardWindow(BoardConfig(), kiosk=True)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _tile(w: BoardWindow, kind: str):
    page = w.board.current_page()
    return next(widget for cfg, widget in zip(page.page.tiles, page.tiles, strict=True) if cfg.kind == kind)


def test_bridge_queue_wakes_once_per_drain_and_keeps_order(qtbot) -> None:
    bridge = FeedBridge()
    bridge.use_queue()
    gui = QThread.currentThread()

    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.wakes: list[bool] = []

        @Slot()
        def woken(self) -> None:
            self.wakes.append(QThread.currentThread() is gui)

    rx = Receiver()
    bridge.data_pending.connect(rx.woken, Qt.ConnectionType.QueuedConnection)
    batches = [[p.CallQueued(ts=1.0, call_id=f"c{i}-{j}", queue="q") for j in range(n)]
               for i, n in enumerate((3, 1, 50))]

    def feed_thread() -> None:
        bridge.on_snapshot({"snap": 1}, 7)
        for i, b in enumerate(batches):
            bridge.on_events(b, 8 + i)
        bridge.on_events([], 99)  # nothing to hand over: no item, no wake-up

    t = threading.Thread(target=feed_thread)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(rx.wakes) > 0, timeout=2000)
    QApplication.processEvents()
    assert rx.wakes == [True]  # four items, one wake-up, on the GUI thread
    items = bridge.take()
    assert [(k, seq) for k, _, seq in items] == [("snapshot", 7), ("events", 8), ("events", 9), ("events", 10)]
    assert [payload for _, payload, _ in items[1:]] == batches  # the same lists, whole and in order
    assert bridge.take() == []
    bridge.on_events(batches[0], 11)  # after a drain, the next batch wakes the GUI again
    qtbot.waitUntil(lambda: len(rx.wakes) == 2, timeout=2000)


def test_controller_applies_a_snapshot_and_the_batches_after_it_in_order(qtbot) -> None:
    w = _window(qtbot)
    bridge = FeedBridge()
    w.controller.attach(bridge)
    w.controller.start()
    now = time.time()
    before = MetricsEngine()
    before.apply(p.CallQueued(ts=now - 5, call_id="c1", queue="q"))
    stale_batch = [p.CallQueued(ts=now - 4, call_id=f"old{i}", queue="q") for i in range(5)]

    def feed_thread() -> None:  # a batch from the old connection, then a snapshot and a batch after it
        bridge.on_events(stale_batch, 3)
        bridge.on_snapshot(before.snapshot(), 10)
        bridge.on_events([p.CallQueued(ts=now - 1, call_id="c2", queue="q")], 11)

    t = threading.Thread(target=feed_thread)
    t.start()
    t.join()
    w.controller.set_link(LinkStatus("live", last_data_at=now + 60))
    tile = _tile(w, "waiting")
    # The snapshot replaces what came before it; the batch after it is applied on top (not lost under it).
    qtbot.waitUntil(lambda: tile.view is not None and tile.view.value == "2", timeout=3000)
    assert w.controller.engine.events_applied == before.events_applied + 1


def test_figure_tile_repaints_only_the_part_that_changed(qtbot) -> None:
    w = _window(qtbot)
    now = time.time()
    eng = MetricsEngine()
    eng.apply(p.CallQueued(ts=now - 5, call_id="c1", queue="q"))
    w.controller.engine = eng
    w.controller.set_link(LinkStatus("live", last_data_at=now + 60))
    w.controller.refresh()
    tile: FigureTileWidget = _tile(w, "waiting")
    dirty: list = []
    tile.update = lambda *a: dirty.append(a)  # record what the tile asks Qt to repaint
    tile.set_view(dataclasses.replace(tile.view, value="17"))
    assert len(dirty) == 1 and len(dirty[0]) == 4  # update(x, y, w, h): one rect
    fig_area = tile._areas()[0].toAlignedRect()
    # Within the figure (not the title, detail line or panel), and only the glyphs that changed ("1" -> "17").
    assert fig_area.contains(QRect(*dirty[0])) and QRect(*dirty[0]) != fig_area
    dirty.clear()
    tile.set_view(dataclasses.replace(tile.view, severity="alarm", severity_text="alarm"))
    assert dirty == [()]  # a change to the panel (severity marks) repaints the whole tile


def test_agent_board_paints_only_the_dirty_cells(qtbot) -> None:
    w = _window(qtbot)
    now = time.time()
    eng = MetricsEngine()
    eng.apply_many([p.AgentState(ts=now - 3000 + i, agent_id=f"A{i:03d}", name=f"Agent {i}",
                                 state="on_call", queues=["q"]) for i in range(200)])
    ctl = w.controller
    ctl.use_engine(eng)
    ctl._clock = lambda: now  # clocks held: only the change below differs
    ctl.set_link(LinkStatus("live", last_data_at=now + 60))
    board: AgentBoardWidget = w.board.current_page().tiles[-1]
    sizes: list = []
    for _ in range(40):  # let the layout settle: the grid, hence the page of agents, follows the size
        ctl.refresh()
        QApplication.processEvents()
        qtbot.wait(30)
        sizes.append(board.size())
        if len(sizes) > 3 and sizes[-1] == sizes[-2] == sizes[-3] and board.cells_painted > 20:
            break
    for _ in range(3):  # and any repaint still pending happen
        QApplication.processEvents()
        qtbot.wait(30)
    board.cells_painted = -1  # no paint since
    cell = board.view.sections[0].cells[2]
    eng.apply(p.AgentState(ts=now - 3000 + 2, agent_id=cell.agent_id, name="Renamed Agent", state="on_call",
                           queues=["q"]))
    ctl._changed_agents.add(cell.agent_id)
    ctl.refresh()
    qtbot.waitUntil(lambda: board.cells_painted != -1, timeout=2000)
    assert board.cells_painted == 1  # that cell alone is painted
