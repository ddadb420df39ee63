"""Finding, reading and validating the site's configuration file (docs/configuration.md).

The models live in ``wallboard.core.board_config`` (pure); this module does the I/O: the search order,
reading the file, and error messages that name the file, the line and the field, so that the person who
made a typo can find it. ``wallboard check-config`` and the live reload banner print the same messages.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wallboard.core.board_config import BoardConfig

ENV_CONFIG = "WALLBOARD_CONFIG"
APP_NAME = "wallboard"
FILE_NAMES = ("wallboard.toml", "board.toml")  # board.toml: the name the first releases used


class ConfigError(ValueError):
    """A config file that cannot be used. ``str()`` is the message for people; the parts are kept too."""

    def __init__(self, path: str, line: int | None, field: str, problem: str, more: int = 0) -> None:
        self.path, self.line, self.field, self.problem, self.more = path, line, field, problem, more
        where = f"{path}:{line}" if line is not None else path
        text = f"{where}: {field}: {problem}" if field else f"{where}: {problem}"
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(text)

    @property
    def details(self) -> list[str]:
        return getattr(self, "_details", [str(self)])


@dataclass(frozen=True)
class LoadedConfig:
    config: BoardConfig
    path: Path | None  # None: built-in defaults
    text: str = ""


# ------------------------------------------------------------------------------------------ search
def candidate_paths(cli_path: str | None = None, env: dict[str, str] | None = None) -> list[Path]:
    """Where the config is looked for, in order: --config, $WALLBOARD_CONFIG, user dir, site dir."""
    from platformdirs import site_config_path, user_config_path

    env = os.environ if env is None else env
    if cli_path:
        return [Path(cli_path)]
    if env.get(ENV_CONFIG):
        return [Path(env[ENV_CONFIG])]
    dirs = [user_config_path(APP_NAME, appauthor=False), site_config_path(APP_NAME, appauthor=False)]
    return [d / name for d in dirs for name in FILE_NAMES]


def find_config(cli_path: str | None = None, env: dict[str, str] | None = None) -> Path | None:
    """The config file to use; an explicit path (option or variable) is returned even if missing, so
    that reading it fails loudly instead of silently falling back to defaults."""
    paths = candidate_paths(cli_path, env)
    explicit = bool(cli_path) or bool((os.environ if env is None else env).get(ENV_CONFIG))
    if explicit:
        return paths[0]
    return next((p for p in paths if p.is_file()), None)


def load_config(cli_path: str | None = None, env: dict[str, str] | None = None) -> LoadedConfig:
    path = find_config(cli_path, env)
    if path is None:
        return LoadedConfig(BoardConfig(), None)
    return load_file(path)


def load_file(path: str | Path) -> LoadedConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), None, "", f"not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ConfigError(str(path), None, "", f"cannot read config: {exc.strerror or exc}") from exc
    return LoadedConfig(parse_config(text, str(path)), path, text)


# ------------------------------------------------------------------------------------------ parsing
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_config(text: str, source: str = "config") -> BoardConfig:
    """TOML text → BoardConfig; raises ConfigError naming the line and the field of the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_AT.search(msg)
        line = int(m.group(1)) if m else None
        raise ConfigError(source, line, "", f"not valid TOML: {_TOML_AT.sub('', msg).strip()}") from exc
    try:
        return BoardConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        index = key_lines(text)
        details = []
        for err in errors:
            loc = tuple(err["loc"])
            details.append((locate(index, loc), field_name(loc), _problem(err)))
        details.sort(key=lambda d: (d[0] is None, d[0] or 0))  # the first problem in the file first
        line, field, problem = details[0]
        error = ConfigError(source, line, field, problem, len(details) - 1)
        error._details = [str(ConfigError(source, ln, f, pr)) for ln, f, pr in details]  # type: ignore[attr-defined]
        raise error from exc


def _problem(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (a typo?)"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def field_name(loc: tuple[Any, ...]) -> str:
    """("alerts", "rules", 0, "warning") → "alerts.rules[0].warning" (union tags dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or part in _TAGS):
            continue  # pydantic's union branch names ("function-after[...]", tile kinds)
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_TAGS = frozenset({"waiting", "longest_wait", "asa", "aht", "service_level", "abandoned", "occupancy",
                   "agent_states", "agent_board", "float", "str", "int"})


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p.strip("\"'") for p in parts]


def key_lines(text: str) -> list[tuple[tuple[Any, ...], int]]:
    """(path, 1-based line) of every table header and key in a TOML text, arrays of tables indexed."""
    out: list[tuple[tuple[Any, ...], int]] = []
    aot: dict[tuple[Any, ...], int] = {}  # array-of-tables path → count so far
    table: tuple[Any, ...] = ()
    depth = 0  # bracket depth of a multi-line value: its lines are not keys
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0] if '"' not in line and "'" not in line else line
        if depth == 0:
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                parts = _split_key(m.group(2))
                resolved: list[Any] = []
                for i, part in enumerate(parts):
                    resolved.append(part)
                    last = i == len(parts) - 1
                    if last and m.group(1) == "[[":
                        idx = aot.get(tuple(resolved), 0)
                        aot[tuple(resolved)] = idx + 1
                        resolved.append(idx)
                    elif tuple(resolved) in aot:
                        resolved.append(aot[tuple(resolved)] - 1)
                table = tuple(resolved)
                out.append((table, n))
                continue
            k = _KEY.match(line)
            if k:
                out.append((table + tuple(_split_key(k.group(1))), n))
        depth += stripped.count("[") + stripped.count("{") - stripped.count("]") - stripped.count("}")
        depth = max(0, depth) if not _HEADER.match(line) else 0
    return out


def locate(index: list[tuple[tuple[Any, ...], int]], loc: tuple[Any, ...]) -> int | None:
    """The line of the longest recorded path that matches the start of ``loc`` (tags may be skipped)."""
    best, best_len = None, 0
    for path, line in index:
        if len(path) <= best_len or not _matches(path, loc):
            continue
        best, best_len = line, len(path)
    return best


def _matches(path: tuple[Any, ...], loc: tuple[Any, ...]) -> bool:
    i = 0
    for part in loc:
        if i == len(path):
            break
        if part == path[i]:
            i += 1
        elif not (isinstance(part, str) and (part in _TAGS or "[" in part)):
            return False
    return i == len(path)


# ------------------------------------------------------------------------------------------ feed
def resolve_token(config: BoardConfig, base: Path | None) -> str | None:
    """The feed token: ``token``, else the first line of ``token_file`` (relative to the config's folder)."""
    feed = config.feed
    if feed.token or not feed.token_file:
        return feed.token
    p = Path(feed.token_file).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    try:
        return p.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise ConfigError(str(p), None, "feed.token_file", f"cannot read: {exc.strerror or exc}") from exc


def ssl_context(config: BoardConfig, base: Path | None) -> ssl.SSLContext | None:
    """A TLS context trusting ``ca_file`` for wss:// feeds (None: the system's trust store applies)."""
    if not config.feed.ca_file:
        return None
    p = Path(config.feed.ca_file).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    try:
        return ssl.create_default_context(cafile=str(p))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(str(p), None, "feed.ca_file", f"not a usable CA file: {exc}") from exc
