#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/lamina/ (run it as dist/lamina/lamina).
# Installs PyInstaller with pip when it is missing. Run from anywhere; paths are the repo's.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if ! "$python" -c "import PyInstaller" >/dev/null 2>&1; then
    echo "build.sh: installing PyInstaller" >&2
    "$python" -m pip install --quiet "pyinstaller>=6"
fi

start=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/lamina.spec
echo "build.sh: built dist/lamina/lamina in $(( $(date +%s) - start ))s" \
     "($(du -sh dist/lamina | cut -f1))" >&2
