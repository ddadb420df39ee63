"""Shared test setup. Qt runs on the offscreen platform; no display is needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wallboard.ui.qt_app import qt_env_defaults

# Before pytest-qt makes the QApplication: offscreen, and made as the app makes its own.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _name, _value in qt_env_defaults().items():
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"


@pytest.fixture
def resources() -> Path:
    return RESOURCES
