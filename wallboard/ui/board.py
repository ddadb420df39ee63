"""The board: pages of tiles on a grid (from the config) above the status strip.

Only the page on show gets views; a page's tile widgets are built once and reused when it comes back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QMoveEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from wallboard.core.board_config import AgentBoardTile, AgentStateTile, BoardConfig, FigureTile, PageConfig
from wallboard.core.view_model import BoardView
from wallboard.ui.agent_board import AgentBoardWidget
from wallboard.ui.agent_states_tile import AgentStatesWidget
from wallboard.ui.figure_tile import FigureTileWidget
from wallboard.ui.pixel_grid import PixelGridLayout
from wallboard.ui.status_strip import StatusStrip
from wallboard.ui.theme import Theme, theme
from wallboard.ui.tile_frame import TileFrame, ref_height


class PageWidget(QWidget):
    def __init__(self, page: PageConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.grid = PixelGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.tiles: list[TileFrame] = []
        for t in page.tiles:
            w: TileFrame
            if isinstance(t, FigureTile):
                w = FigureTileWidget(t.sparkline)
            elif isinstance(t, AgentStateTile):
                w = AgentStatesWidget()
            else:
                assert isinstance(t, AgentBoardTile)
                w = AgentBoardWidget()
            self.grid.addWidget(w, t.row, t.col, t.row_span, t.col_span)
            self.tiles.append(w)
        for r in range(page.rows):
            self.grid.setRowStretch(r, 1)
        for c in range(page.cols):
            self.grid.setColumnStretch(c, 1)

    def agent_grids(self) -> dict[int, tuple[int, int]]:
        return {i: w.grid_shape() for i, w in enumerate(self.tiles) if isinstance(w, AgentBoardWidget)}


class BoardWidget(QWidget):
    def __init__(self, config: BoardConfig, theme_name: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.theme: Theme = theme(theme_name or config.theme)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.stack = QStackedWidget()
        self.pages = [PageWidget(p) for p in config.pages]
        for pw in self.pages:
            self.stack.addWidget(pw)
        self.strip = StatusStrip()
        lay = QVBoxLayout(self)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.strip)
        self._drift = (0, 0)
        self.view: BoardView | None = None
        self.set_theme(self.theme.name)

    # ------------------------------------------------------------ layout that follows the window size
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._apply_spacing()
        super().resizeEvent(event)

    def _apply_spacing(self) -> None:
        gap = max(4, round(ref_height(self) * 0.008))
        margin = max(4, round(ref_height(self) * 0.012))
        dx, dy = self._drift
        lay = self.layout()
        # Burn-in drift: shift the whole layout inside a margin that is never smaller than the drift.
        lay.setContentsMargins(margin + dx, margin + dy, margin - dx, max(0, round(margin * 0.3) - dy))
        lay.setSpacing(gap)
        for pw in self.pages:
            pw.grid.setSpacing(gap)
        self.strip.setFixedHeight(self.strip.strip_height())

    def set_drift(self, dx: int, dy: int) -> None:
        self._drift = (dx, dy)
        self._apply_spacing()
        self.layout().activate()  # (the new margins first)
        self._resnap_pages()

    def moveEvent(self, event: QMoveEvent) -> None:  # e.g. a docked panel opened beside the board
        super().moveEvent(event)
        self._resnap_pages()

    def _resnap_pages(self) -> None:
        """The pages moved in the window without a resize: at a fractional device pixel ratio their tiles are
        placed on whole device pixels again (pixel_grid)."""
        for pw in self.pages:
            pw.grid.resnap()

    def set_theme(self, name: str) -> None:
        self.theme = theme(name)
        for pw in self.pages:
            for w in pw.tiles:
                w.set_theme(self.theme)
        self.strip.set_theme(self.theme)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.theme.background)
        p.end()

    # ------------------------------------------------------------ views
    def current_page(self) -> PageWidget:
        return self.pages[self.stack.currentIndex()]

    def agent_grids(self, page_index: int) -> dict[int, tuple[int, int]]:
        return self.pages[page_index].agent_grids()

    def apply_view(self, view: BoardView) -> None:
        if self.stack.currentIndex() != view.page_index:
            self.stack.setCurrentIndex(view.page_index)
        pw = self.pages[view.page_index]
        for w, tv in zip(pw.tiles, view.tiles, strict=True):
            w.set_view(tv)
        self.strip.set_view(view)
        self.view = view
