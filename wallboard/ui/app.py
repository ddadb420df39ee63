"""Running the board as an application: window (desktop or kiosk) + bridge + feed client."""

from __future__ import annotations

import logging
import signal
import ssl
import sys
from pathlib import Path

from PySide6.QtCore import QTimer

from wallboard.core.board_config import BoardConfig
from wallboard.feed.client import FeedClient
from wallboard.ui.alert_history import default_history_path
from wallboard.ui.bridge import FeedBridge
from wallboard.ui.kiosk import (
    BurnInDrift,
    ScreenNotFoundError,
    ScreenSaverInhibitor,
    enter_kiosk,
    pick_screen,
)
from wallboard.ui.live_config import LiveConfig
from wallboard.ui.qt_app import make_application
from wallboard.ui.window import BoardWindow

log = logging.getLogger("wallboard.ui.app")


def run_board(config: BoardConfig, url: str, *, token: str | None = None, kiosk: bool = False,
              screen: str | None = None, theme_name: str | None = None,
              quit_after_s: float | None = None, config_path: Path | None = None,
              config_text: str | None = None, ssl_context: ssl.SSLContext | None = None,
              proxy: str | None = None) -> int:
    """``config_path``: the file the config came from; it is watched and changes apply live."""
    app = make_application(sys.argv[:1])
    app.setApplicationName("wallboard")
    window = BoardWindow(config, theme_name=theme_name, kiosk=kiosk,
                         alert_history=default_history_path())
    bridge = FeedBridge()
    window.controller.attach(bridge)
    client = FeedClient(url, bridge, token=token, ssl_context=ssl_context, proxy=proxy,
                        batch_interval_s=config.display.feed_batch_interval_s)
    window.controller.resync_wanted.connect(client.resync)
    inhibitor = ScreenSaverInhibitor()
    if kiosk:
        try:
            target = pick_screen(screen if screen is not None else config.kiosk.screen)
        except ScreenNotFoundError as exc:
            print(f"wallboard: {exc}", file=sys.stderr)
            return 2
        enter_kiosk(window, target, config.kiosk.hide_cursor)
        BurnInDrift(window.board, config.kiosk.drift_px, config.kiosk.drift_every_s)
        if config.kiosk.inhibit_screensaver:
            inhibitor.inhibit()
    else:
        window.show()
    live = LiveConfig(window, config_path, config_text) if config_path is not None else None
    # Ctrl+C in the terminal: let Python see the signal now and then, then quit cleanly.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    poll = QTimer()
    poll.timeout.connect(lambda: None)
    poll.start(500)
    if quit_after_s is not None:
        QTimer.singleShot(round(quit_after_s * 1000), app.quit)
    window.controller.start()
    client.start()
    try:
        return app.exec()
    finally:
        client.stop()
        inhibitor.release()
        window.controller.stop()
        window.alerts.sound.close()
        del live
