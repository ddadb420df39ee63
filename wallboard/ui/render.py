"""Headless rendering of the board to an image (``wallboard snapshot``, docs and tests)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QImage

from wallboard.core.board_config import BoardConfig
from wallboard.core.engine import MetricsEngine
from wallboard.core.view_model import BoardViewModel, LinkStatus, agent_row
from wallboard.ui.board import BoardWidget
from wallboard.ui.qt_app import make_application


def render_board(config: BoardConfig, engine: MetricsEngine, link: LinkStatus, now: float,
                 size: tuple[int, int], theme_name: str | None = None, *, page: int = 0,
                 view_model: BoardViewModel | None = None) -> QImage:
    """Lay the board out at ``size`` (logical pixels), build the view as of ``now`` and paint it."""
    make_application()
    board = BoardWidget(config, theme_name)
    board.resize(*size)
    board.show()  # offscreen platform: lays out and paints into a backing store, nothing on screen
    QCoreApplication.processEvents()
    vm = view_model or BoardViewModel(config)
    vm.set_agents([agent_row(a) for a in engine.agents.values()])
    figures = engine.figures(now)
    vm.sample(figures, now)
    view = vm.build(figures, link, now, board.agent_grids(page), page=page,
                    events_applied=engine.events_applied)
    board.apply_view(view)
    QCoreApplication.processEvents()
    image = board.grab().toImage()
    board.close()
    board.deleteLater()
    QCoreApplication.processEvents()
    return image


def save_png(image: QImage, out: str | Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise OSError(f"could not write {out}")
