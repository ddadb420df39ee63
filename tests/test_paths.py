"""wallboard.paths finds the shipped resources in each layout: checkout, PyInstaller bundle, wheel data files.
(The real bundle and the real .deb are checked by packaging/test_install.sh; a real wheel install was
checked by hand, docs/packaging.md.)"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest

from wallboard import paths


@pytest.fixture(autouse=True)
def _fresh_cache():
    paths.resources_dir.cache_clear()
    yield
    paths.resources_dir.cache_clear()


def test_checkout_finds_the_repository_resources():
    root = Path(__file__).resolve().parents[1]
    assert paths.resources_dir() == root / "resources"
    assert paths.resource_path("scenarios", "site.toml").is_file()
    assert paths.resource_path("fonts", "inter", "Inter-Regular.otf").is_file()


def test_pyinstaller_bundle_uses_meipass(tmp_path, monkeypatch):
    (tmp_path / "resources" / "scenarios").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resource_path("scenarios") == tmp_path / "resources" / "scenarios"


def test_wheel_data_files_are_found_outside_a_checkout(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "resources").mkdir(parents=True)  # someone else's top-level "resources": must not be taken
    data = tmp_path / "prefix"
    (data / "share" / "wallboard" / "resources" / "sounds").mkdir(parents=True)
    monkeypatch.setattr(paths, "_SOURCE_ROOT", site)
    monkeypatch.setattr(sysconfig, "get_path", lambda name, scheme=None: str(data))
    assert paths.resource_path("sounds") == data / "share" / "wallboard" / "resources" / "sounds"


def test_the_simulator_lists_scenarios_through_it():
    from wallboard.sim.scenario import shipped_scenarios, shipped_scenarios_dir

    assert shipped_scenarios_dir() == paths.resource_path("scenarios")
    assert "site" in shipped_scenarios()
