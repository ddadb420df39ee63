#!/usr/bin/env bash
# Build the bundle and the .deb, install the .deb, and check the installed board (docs/packaging.md).
#   packaging/test_install.sh                  build, install, check (as root: apt-get install, then removed;
#                                              otherwise: unpacked into a throwaway root with dpkg -x)
#   packaging/test_install.sh --keep           as root: leave the package installed
#   packaging/test_install.sh --unpack         do not install, even as root: unpack into a throwaway root
#   packaging/test_install.sh --no-build       reuse dist/wallboard_*.deb
#   packaging/test_install.sh --fast           build a zstd-compressed .deb (~1.5 min less; what .ci/run does)
#   packaging/test_install.sh --screenshot F   also save the Xvfb screenshot to F (e.g. docs/images/...)
# Checks: the .deb is at most 80 MB; `wallboard --version` prints the project's version; simulate, metrics and
# check-config run; `wallboard snapshot --demo` renders a 1920x1080 PNG that is not blank (offscreen); the
# installed board opens a real window under Xvfb with Qt's xcb platform and the screen shows it (not blank).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MAX_MB=80
keep=0 build=1 shot="" fast=() unpack=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --unpack) unpack=1 ;;
    --no-build) build=0 ;;
    --fast) fast=(--fast) ;;
    --screenshot) shot=$2; shift ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
  shift
done

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*" >&2; }

need_apt=()
for p in xvfb xauth x11-utils imagemagick dpkg-dev desktop-file-utils libwayland-cursor0 libwayland-egl1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  step "installing build/test tools: ${need_apt[*]}"
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
    || fail "cannot install ${need_apt[*]} (apt-get install them as root)"
fi

if [ "$build" -eq 1 ]; then
  "$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q -e ".[package]"
  step "building the bundle and the .deb"
  t0=$(date +%s)
  "$PY" packaging/build.py "${fast[@]}" >/dev/null
  echo "build time: $(( $(date +%s) - t0 )) s" >&2
fi
deb=$(ls -t dist/wallboard_*.deb | head -1)
version=$("$PY" -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")

step "size of $deb"
bytes=$(stat -c %s "$deb")
echo "$deb: $(( bytes / 1000000 )) MB ($bytes bytes); installed $(dpkg-deb -f "$deb" Installed-Size) KiB" >&2
[ "$bytes" -le $(( MAX_MB * 1000 * 1000 )) ] || fail ".deb is larger than $MAX_MB MB"

work=$(mktemp -d)
installed=0
cleanup() {
  if [ "$installed" -eq 1 ] && [ "$keep" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq wallboard >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$unpack" -eq 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  step "installing $deb (apt-get: its Depends must be satisfiable)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
  installed=1
  wb=/usr/bin/wallboard
  root=""
else
  step "unpacking $deb into a throwaway root"
  dpkg-deb -x "$deb" "$work/root"
  root="$work/root"
  wb="$root/opt/wallboard/wallboard"  # /usr/bin/wallboard is an absolute link to /opt/wallboard
fi

step "files in place"
for f in opt/wallboard/wallboard usr/share/applications/wallboard.desktop etc/xdg/autostart/wallboard.desktop \
         usr/share/icons/hicolor/scalable/apps/wallboard.svg usr/share/icons/hicolor/256x256/apps/wallboard.png \
         opt/wallboard/_internal/resources/scenarios/site.toml; do
  [ -e "$root/$f" ] || fail "missing /$f"
done
if [ -f resources/wallboard.example.toml ]; then
  [ -f "$root/etc/xdg/wallboard/wallboard.example.toml" ] || fail "missing /etc/xdg/wallboard/wallboard.example.toml"
fi
grep -q '^Hidden=true' "$root/etc/xdg/autostart/wallboard.desktop" || fail "autostart entry is not disabled"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$root/usr/share/applications/wallboard.desktop"
  desktop-file-validate "$root/etc/xdg/autostart/wallboard.desktop"
fi

step "wallboard --version"
out=$(env -i PATH=/usr/bin:/bin HOME="$work" "$wb" --version)
echo "$out" >&2
[ "$out" = "wallboard $version" ] || fail "expected 'wallboard $version', got '$out'"

# A clean environment (no venv, no PYTHONPATH), so nothing outside the bundle can be picked up.
run_env=(env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 XDG_CONFIG_HOME="$work/config" XDG_RUNTIME_DIR="$work")

step "the Qt-free commands: simulate a shipped scenario by name, metrics of the recording, check-config"
"${run_env[@]}" "$wb" simulate small --duration 30m --fast --record "$work/rec.jsonl.gz" >/dev/null
"${run_env[@]}" "$wb" metrics "$work/rec.jsonl.gz" --json > "$work/metrics.json"
"$PY" - "$work/metrics.json" <<'EOF'
import json, sys
figures = json.load(open(sys.argv[1]))
offered = figures["total"]["today"]["offered"]
assert offered > 0, f"no calls offered in 30 simulated minutes: {figures['total']['today']}"
print(f"metrics: {offered} offered in 30 simulated minutes", file=sys.stderr)
EOF
if [ -f "$root/etc/xdg/wallboard/wallboard.example.toml" ]; then
  "${run_env[@]}" "$wb" check-config "$root/etc/xdg/wallboard/wallboard.example.toml" >&2
fi

step "wallboard snapshot --demo (offscreen)"
"${run_env[@]}" QT_QPA_PLATFORM=offscreen "$wb" snapshot --demo --out "$work/snap.png" --size 1920x1080
check_png() {  # FILE WIDTH HEIGHT: right size and not blank (many colours across the picture)
  QT_QPA_PLATFORM=offscreen "$PY" - "$@" <<'EOF'
import sys
from PySide6.QtGui import QImage
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
img = QImage(path)
assert not img.isNull(), f"{path}: not a readable image"
assert (img.width(), img.height()) == (w, h), f"{path}: {img.width()}x{img.height()}, expected {w}x{h}"
colours = {img.pixel(x, y) for x in range(0, w, 7) for y in range(0, h, 7)}
assert len(colours) >= 50, f"{path}: looks blank ({len(colours)} colours)"
print(f"{path}: {w}x{h}, {len(colours)} colours sampled", file=sys.stderr)
EOF
}
check_png "$work/snap.png" 1920 1080 || fail "snapshot PNG"

step "a real window under Xvfb (xcb platform)"
cat > "$work/window.sh" <<'EOF'
#!/usr/bin/env bash
# Runs inside xvfb-run: start the board, wait for its window, wait until the screen shows the board.
set -euo pipefail
wb=$1 out=$2 py=$3 settle=$4
# 10:30: the site scenario's busy morning, so the screen shows full tiles (agents log in as the day goes).
QT_QPA_PLATFORM=xcb "$wb" demo --kiosk --speed 30 --start 10:30 > "$out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
window='("wallboard" "wallboard")  1920x1080+0+0'  # WM_CLASS and geometry: the kiosk window fills the screen
for _ in $(seq 1 300); do  # up to 30 s for the window to be mapped
  xwininfo -root -tree 2>/dev/null | grep -q "$window" && break
  kill -0 $pid 2>/dev/null || { echo "board exited:"; cat "$out.log"; exit 1; }
  sleep 0.1
done
xwininfo -root -tree | grep "$window" || { echo "no full-screen wallboard window"; cat "$out.log"; exit 1; }
for _ in $(seq 1 100); do  # up to 30 s for the figures to be painted
  import -window root "png:$out" 2>/dev/null
  QT_QPA_PLATFORM=offscreen "$py" - "$out" <<'PYEOF' && break
import sys
from PySide6.QtGui import QImage
img = QImage(sys.argv[1])
colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
sys.exit(0 if len(colours) >= 50 else 1)
PYEOF
  sleep 0.3
done
if [ "$settle" -gt 0 ]; then  # for the documentation picture only: let the simulated morning fill the board
  sleep "$settle"
  import -window root "png:$out"
fi
kill -0 $pid || { echo "board died"; cat "$out.log"; exit 1; }
EOF
chmod +x "$work/window.sh"
"${run_env[@]}" xvfb-run -a -s "-screen 0 1920x1080x24" "$work/window.sh" "$wb" "$work/xvfb.png" "$PWD/$PY" "$([ -n "$shot" ] && echo 10 || echo 0)" \
  || fail "no window under Xvfb"
check_png "$work/xvfb.png" 1920 1080 || fail "Xvfb screenshot"
if [ -n "$shot" ]; then cp "$work/xvfb.png" "$shot"; echo "screenshot: $shot" >&2; fi

echo "OK: $deb ($(( bytes / 1000000 )) MB) installs and runs: --version, snapshot, xcb window" >&2
