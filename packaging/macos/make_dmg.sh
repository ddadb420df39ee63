#!/usr/bin/env bash
# macOS: build dist/Wallboard.app with PyInstaller and wrap it in dist/wallboard-<version>.dmg (docs/packaging.md).
# Run on a Mac (CI: .github/workflows/release.yml, macos-14). Not run on the Linux development machine.
# The .app is not signed or notarised (that needs an Apple Developer ID in CI secrets); Gatekeeper asks
# the first time: right-click > Open, or `xattr -dr com.apple.quarantine /Applications/Wallboard.app`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
version=$("$PY" -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
"$PY" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/wallboard.spec
app=dist/Wallboard.app
# Smoke test of the bundle's CLI before packaging it.
"$app/Contents/MacOS/wallboard" --version
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/wallboard" snapshot --demo --out dist/macos-snapshot.png
stage=build/dmg
rm -rf "$stage" && mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"  # drag the app onto it
cp resources/wallboard.example.toml "$stage/wallboard.example.toml"
hdiutil create -volname "Wallboard $version" -srcfolder "$stage" -ov -format UDZO "dist/wallboard-$version.dmg"
echo "dist/wallboard-$version.dmg"
