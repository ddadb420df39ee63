"""The package layering (DEVELOPERS.md) is checked by import-linter, and the check really fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_layering_contracts_hold() -> None:
    result = _lint(ROOT, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_layering_check_fails_on_qt_import_in_core(tmp_path: Path) -> None:
    # A copy of the tree with one scratch module in core that imports PySide6.
    shutil.copytree(ROOT / "wallboard", tmp_path / "wallboard",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "wallboard" / "core" / "scratch.py").write_text("import PySide6.QtCore  # noqa\n")
    result = _lint(tmp_path, tmp_path)
    assert result.returncode != 0
    assert "core is pure" in result.stdout and "BROKEN" in result.stdout
    assert "wallboard.core.scratch -> PySide6" in result.stdout
