"""Colours and fonts for the three themes. State colours follow the Okabe–Ito palette (safe for the
common colour-vision deficiencies); every state also carries a text code, so colour is never alone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from PySide6.QtGui import QColor, QFont, QFontDatabase

from wallboard.paths import resource_path

FONT_DIR = resource_path("fonts", "inter")
FALLBACK_FAMILY = "DejaVu Sans"

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "grey": "#999999",
}


@dataclass(frozen=True)
class Theme:
    name: str
    background: QColor
    tile: QColor
    tile_border: QColor
    text: QColor
    text_dim: QColor
    ok: QColor
    warn: QColor
    alarm: QColor
    neutral: QColor
    spark: QColor
    stale_text: QColor
    hatch: QColor
    states: dict[str, QColor]
    state_text: dict[str, QColor]  # readable text colour on the state colour
    cell_fill_alpha: int  # how strongly a cell is tinted by its state colour
    border_px_ratio: float  # tile border width as a fraction of the window height (0: none)

    def severity_color(self, severity: str) -> QColor:
        return {"ok": self.ok, "warn": self.warn, "alarm": self.alarm}.get(severity, self.text)


def _c(hex_: str) -> QColor:
    return QColor(hex_)


def _states(blue: str) -> dict[str, QColor]:
    o = OKABE_ITO
    return {
        "available": _c(o["bluish_green"]), "ringing": _c(o["yellow"]), "on_call": _c(blue),
        "wrap_up": _c(o["reddish_purple"]), "not_ready": _c(o["vermillion"]), "outbound": _c(o["orange"]),
        "logged_out": _c(o["grey"]),
    }


_DARK_ON = {"ringing": "#111111", "outbound": "#111111", "available": "#FFFFFF", "on_call": "#111111",
            "wrap_up": "#111111", "not_ready": "#111111", "logged_out": "#111111"}


def _make(name: str) -> Theme:
    o = OKABE_ITO
    if name == "light":
        return Theme(
            name, _c("#E9EDF1"), _c("#FFFFFF"), _c("#C9D1DA"), _c("#14181D"), _c("#56606B"),
            _c(o["bluish_green"]), _c("#B87F00"), _c(o["vermillion"]), _c("#56606B"), _c(o["blue"]),
            _c("#14181D"), QColor(20, 24, 29, 60), _states(o["blue"]),
            {k: _c(v) for k, v in {**_DARK_ON, "on_call": "#FFFFFF"}.items()}, 70, 0.0,
        )
    if name == "high-contrast":
        return Theme(
            name, _c("#000000"), _c("#000000"), _c("#FFFFFF"), _c("#FFFFFF"), _c("#E0E0E0"),
            _c("#2FE0A5"), _c(o["yellow"]), _c("#FF7A3D"), _c("#E0E0E0"), _c(o["yellow"]),
            _c("#FFFFFF"), QColor(255, 255, 255, 90), _states(o["sky_blue"]),
            {k: _c(v) for k, v in _DARK_ON.items()}, 0, 0.0016,
        )
    # Dark (default): no pure white, so static parts do not burn in.
    return Theme(
        "dark", _c("#0B0E13"), _c("#161B22"), _c("#232A33"), _c("#E6E9ED"), _c("#98A2AE"),
        _c("#2BB78B"), _c(o["orange"]), _c("#F0643A"), _c("#98A2AE"), _c(o["sky_blue"]),
        _c("#E6E9ED"), QColor(230, 233, 237, 38), _states(o["sky_blue"]),
        {k: _c(v) for k, v in _DARK_ON.items()}, 80, 0.0,
    )


@cache
def theme(name: str) -> Theme:
    if name not in ("dark", "light", "high-contrast"):
        raise ValueError(f"unknown theme {name!r} (dark, light, high-contrast)")
    return _make(name)


@cache
def font_family() -> str:
    """Load the bundled Inter once; fall back to DejaVu Sans if the files are missing."""
    family = None
    for f in ("Inter-Regular.otf", "Inter-SemiBold.otf", "Inter-Bold.otf"):
        fid = QFontDatabase.addApplicationFont(str(FONT_DIR / f))
        if fid >= 0 and family is None:
            fams = QFontDatabase.applicationFontFamilies(fid)
            family = fams[0] if fams else None
    return family or FALLBACK_FAMILY


def make_font(pixel_size: float, weight: QFont.Weight = QFont.Weight.Normal, *,
              tabular: bool = True) -> QFont:
    f = QFont(font_family())
    f.setPixelSize(max(1, round(pixel_size)))
    f.setWeight(weight)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    if tabular:  # tabular figures: digits share one width, so ticking numbers do not jitter
        f.setFeature(QFont.Tag("tnum"), 1)
    return f
