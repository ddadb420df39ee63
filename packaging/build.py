"""Build the one-folder bundle (PyInstaller) and, on Debian/Ubuntu, the .deb (docs/packaging.md).

    python packaging/build.py            # dist/wallboard/ and dist/wallboard_<version>_<arch>.deb
    python packaging/build.py --no-deb   # the bundle only (any OS; Windows/macOS recipes build on it)

The .deb's Depends are computed, not guessed: every ELF file in the bundle is run through ``ldd``; a library
that does not resolve fails the build (PyInstaller silently leaves out what the build host lacks, and the
board would then die at start on a wall PC), and every library resolved outside the bundle is mapped to
its Debian package with ``dpkg -S``, then given a minimum version by ``dpkg-shlibdeps`` when available.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / "wallboard"
PREFIX = "/opt/wallboard"
SITE_CONFIG_DIR = "/etc/xdg/wallboard"  # platformdirs.site_config_dir("wallboard") on Linux
EXAMPLE_CONFIG = ROOT / "resources" / "wallboard.example.toml"


def log(msg: str) -> None:
    print(f"[build] {msg}", file=sys.stderr, flush=True)


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def build_bundle() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit("PyInstaller is not installed: pip install -e '.[package]'")
    shutil.rmtree(BUNDLE, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(DIST), "--workpath", str(WORK / "pyinstaller"),
                    str(PACKAGING / "wallboard.spec")], check=True, cwd=ROOT)
    if sys.platform.startswith("linux") and shutil.which("strip"):
        strip_python(BUNDLE)


def strip_python(bundle: Path) -> None:
    """Strip the interpreter's own libraries (a pyenv/source build keeps symbols: libpython 23 MB -> 5 MB).
    Not the wheels' libraries: auditwheel patched them with patchelf and strip corrupts those (numpy's
    OpenBLAS then fails with "ELF load command address/offset not page-aligned")."""
    internal = bundle / "_internal"
    files = [*internal.glob("libpython*.so*"), *internal.glob("python3*/lib-dynload/*.so")]
    files = [f for f in files if f.is_file() and not f.is_symlink()]
    if files:
        subprocess.run(["strip", "--strip-unneeded", *map(str, files)], check=True)


# ------------------------------------------------------------------------------------------ Depends
def elf_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with p.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
    return out


_LDD = re.compile(r"^\s*(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))")


def system_libraries(bundle: Path) -> dict[str, set[str]]:
    """{system library path: {bundle files needing it}}; exits naming every library that is not found."""
    needed: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    bundle_dir = str(bundle.resolve())
    for f in elf_files(bundle):
        res = subprocess.run(["ldd", str(f)], capture_output=True, text=True)
        if res.returncode != 0:  # static or not a loadable object (e.g. a data file with ELF magic)
            continue
        for line in res.stdout.splitlines():
            m = _LDD.match(line)
            if not m:
                continue
            name, target = m.group(1), m.group(3)
            rel = str(f.relative_to(bundle))
            if target is None:
                missing.setdefault(name, set()).add(rel)
            elif not os.path.realpath(target).startswith(bundle_dir):
                needed.setdefault(os.path.realpath(target), set()).add(rel)
    if missing:
        lines = [f"  {lib} (needed by {', '.join(sorted(users)[:3])})" for lib, users in sorted(missing.items())]
        sys.exit("libraries not found on the build host (install them, e.g. scripts/dev setup):\n" + "\n".join(lines))
    return needed


def owning_package(path: str) -> str:
    # /lib is a symlink to /usr/lib on merged-/usr systems; dpkg knows files by either name.
    candidates = [path]
    for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
        if path.startswith(a):
            candidates.append(b + path[len(a):])
    for c in candidates:
        res = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.split(":")[0].strip()
    sys.exit(f"no Debian package owns {path}: cannot declare it in Depends")


def shlibdeps(bundle: Path, users: list[str]) -> str | None:
    """dpkg-shlibdeps' versioned Depends for the given bundle files, or None when it is unavailable."""
    if not shutil.which("dpkg-shlibdeps"):
        return None
    tmp = WORK / "shlibdeps"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "debian").mkdir(parents=True)
    (tmp / "debian" / "control").write_text("Source: wallboard\n\nPackage: wallboard\nArchitecture: any\n")
    lib_dirs = sorted({str(p.parent) for p in bundle.rglob("*.so*")})
    cmd = ["dpkg-shlibdeps", "-O", "--ignore-missing-info", "--warnings=0", *(f"-l{d}" for d in lib_dirs),
           *(str(bundle / u) for u in users)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if res.returncode != 0:
        log(f"dpkg-shlibdeps failed, falling back to unversioned Depends: {res.stderr.strip()[:500]}")
        return None
    m = re.search(r"shlibs:Depends=(.*)", res.stdout)
    return m.group(1).strip() if m else None


def depends(bundle: Path) -> str:
    needed = system_libraries(bundle)
    packages = {owning_package(lib) for lib in needed}
    log(f"system libraries: {len(needed)} from {len(packages)} packages: {', '.join(sorted(packages))}")
    users = sorted({u for us in needed.values() for u in us})
    versioned = shlibdeps(bundle, users)
    # ldd lists libraries needed only by other system libraries too (libxau6 via libxcb1, ...): those come
    # with their own package's Depends. dpkg-shlibdeps keeps the bundle's direct needs, with versions.
    return versioned or ", ".join(sorted(packages))


# ------------------------------------------------------------------------------------------ .deb
DESKTOP = """[Desktop Entry]
Type=Application
Name=Wallboard
GenericName=Contact-centre wallboard
Comment=Live contact-centre figures for wall screens and supervisors
Exec=wallboard run
Icon=wallboard
StartupWMClass=wallboard
Terminal=false
Categories=Office;Network;Monitor;
Keywords=ACD;call centre;contact centre;queue;dashboard;
"""

# Installed disabled (Hidden=true): see docs/packaging.md, "Kiosk: start at login", to enable it.
AUTOSTART = """[Desktop Entry]
Type=Application
Name=Wallboard (kiosk)
Comment=Start the wallboard full screen at login. Disabled: set Hidden=false to enable (docs/packaging.md)
Exec=wallboard run --kiosk
Icon=wallboard
StartupWMClass=wallboard
Terminal=false
Hidden=true
X-GNOME-Autostart-Delay=5
"""

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: wallboard

Files: *
License: MIT

Files: opt/wallboard/_internal/resources/fonts/inter/*
Copyright: Rasmus Andersson
License: OFL-1.1
 See /opt/wallboard/_internal/resources/fonts/inter/LICENSE.txt

Files: opt/wallboard/_internal/PySide6/* opt/wallboard/_internal/shiboken6/*
License: LGPL-3.0
 Qt for Python (PySide6) and Qt 6, unmodified, as distributed on PyPI; see https://www.qt.io/licensing/
"""


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def stage_deb(version: str, arch: str, deps: str, fast: bool = False) -> Path:
    stage = WORK / "deb" / "root"
    shutil.rmtree(stage.parent, ignore_errors=True)
    opt = stage / PREFIX.lstrip("/")
    shutil.copytree(BUNDLE, opt, symlinks=True)
    (stage / "usr/bin").mkdir(parents=True)
    (stage / "usr/bin/wallboard").symlink_to(f"{PREFIX}/wallboard")  # the bootloader follows the link
    _write(stage / "usr/share/applications/wallboard.desktop", DESKTOP)
    icons = ROOT / "resources" / "icons"
    for src, dest in ((icons / "wallboard.svg", "scalable/apps/wallboard.svg"),
                      (icons / "wallboard.png", "256x256/apps/wallboard.png")):
        _write(stage / "usr/share/icons/hicolor" / dest, "")
        shutil.copyfile(src, stage / "usr/share/icons/hicolor" / dest)
    _write(stage / "etc/xdg/autostart/wallboard.desktop", AUTOSTART)
    conffiles = ["/etc/xdg/autostart/wallboard.desktop"]
    if EXAMPLE_CONFIG.is_file():
        dest = stage / SITE_CONFIG_DIR.lstrip("/") / "wallboard.example.toml"
        _write(dest, EXAMPLE_CONFIG.read_text())
        conffiles.append(f"{SITE_CONFIG_DIR}/wallboard.example.toml")
    else:
        log(f"warning: {EXAMPLE_CONFIG.relative_to(ROOT)} not found; the package ships no example config")
    _write(stage / "usr/share/doc/wallboard/copyright", COPYRIGHT)
    # Normalise permissions: the build tree's umask must not leak into the package.
    for p in stage.rglob("*"):
        if p.is_symlink():
            continue
        if p.is_dir():
            p.chmod(0o755)
        else:
            p.chmod(0o755 if os.access(p, os.X_OK) or p.suffix == ".so" or ".so." in p.name else 0o644)
    size_kb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = f"""Package: wallboard
Version: {version}
Architecture: {arch}
Maintainer: Wallboard maintainers <wallboard@localhost>
Installed-Size: {size_kb}
Depends: {deps}
Section: misc
Priority: optional
Homepage: https://github.com/wallboard/wallboard
Description: real-time contact-centre wallboard
 Live ACD figures (calls waiting, longest wait, service level, ASA, AHT,
 abandoned, agent states) on wall screens and supervisor desktops, from a
 websocket feed of call-distributor events. Self-contained: Python, Qt and
 the board's libraries are bundled under {PREFIX}.
"""
    _write(stage / "DEBIAN/control", control)
    _write(stage / "DEBIAN/conffiles", "".join(f"{c}\n" for c in conffiles))
    out = DIST / f"wallboard_{version}_{arch}.deb"
    out.unlink(missing_ok=True)
    # xz: the smallest package (what a site rolls out), ~100 s on 2 cores; zstd -9 (--fast, for CI): ~8 s and
    # ~20% larger. dpkg reads zstd since 1.21.18 (Debian 12; Ubuntu's dpkg since 18.04).
    compression = ["-Zzstd", "-z9"] if fast else ["-Zxz"]
    subprocess.run(["dpkg-deb", "--root-owner-group", *compression, "--build", str(stage), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-deb", action="store_true", help="build the bundle only")
    ap.add_argument("--skip-bundle", action="store_true", help="reuse dist/wallboard (package it again)")
    ap.add_argument("--fast", action="store_true", help="zstd instead of xz: ~10x faster, ~20%% larger (CI)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    if not args.skip_bundle:
        build_bundle()
    t_bundle = time.monotonic() - t0
    bundle_mb = sum(p.lstat().st_size for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    log(f"bundle: {BUNDLE.relative_to(ROOT)} {bundle_mb:.1f} MB in {t_bundle:.0f} s")
    if args.no_deb:
        return 0
    if not shutil.which("dpkg-deb"):
        sys.exit("dpkg-deb not found: the .deb is built on Debian/Ubuntu only (use --no-deb elsewhere)")
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    deps = depends(BUNDLE)
    log(f"Depends: {deps}")
    deb = stage_deb(project_version(), arch, deps, fast=args.fast)
    total = time.monotonic() - t0
    log(f"package: {deb.relative_to(ROOT)} {deb.stat().st_size / 1e6:.1f} MB; total build time {total:.0f} s")
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
