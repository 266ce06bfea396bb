#!/usr/bin/env bash
# Check that a built bundle works on this machine without the source tree's Python packages:
#   bash packaging/smoke_test.sh [dist/lamina/lamina]
# It runs --version, `dump` on a corpus PDF, `serve` until GET /healthz answers 200, and
# `open` (the desktop app, offscreen) for a few seconds; it also checks the bundle's contents.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$(realpath "${1:-dist/lamina/lamina}")"
corpus="${LAMINA_CORPUS:-../shared/corpus/pdfs}"
[ -x "$bin" ] || { echo "smoke_test: $bin is not built (bash packaging/build.sh)" >&2; exit 1; }

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Keep the bundle's data, config and logs out of the real home directory. Run it from an
# empty directory so that nothing from the source tree can be imported by accident.
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config" \
    XDG_STATE_HOME="$tmp/home/state" XDG_CACHE_HOME="$tmp/home/cache" \
    LAMINA_LOG_DIR="$tmp/logs" QT_QPA_PLATFORM=offscreen PYTHONPATH=""
mkdir -p "$HOME" "$tmp/cwd"
corpus="$(realpath "$corpus")"
cd "$tmp/cwd"

fail() { echo "smoke_test: FAIL: $*" >&2; exit 1; }

# 1. --version
version="$("$bin" --version)"
[[ "$version" == "lamina "* ]] || fail "--version printed '$version'"
echo "smoke_test: ok: $version"

# 2. resources shipped in the bundle
internal="$(dirname "$bin")/_internal"
for f in resources/icons/lamina.svg resources/icons/hicolor/256x256/apps/lamina.png; do
    [ -f "$internal/$f" ] || fail "$f is missing from the bundle"
done
echo "smoke_test: ok: resources are in the bundle"

# 3. dump a corpus PDF that holds annotations
pdf="$(ls "$corpus"/annot-textmarkup-quadpoints__*.pdf | head -n 1)"
rc=0
"$bin" dump "$pdf" >"$tmp/dump.out" 2>"$tmp/dump.err" || rc=$?
[ "$rc" = 0 ] || fail "dump $(basename "$pdf") exited $rc: $(head -c 2000 "$tmp/dump.err")"
[ -s "$tmp/dump.out" ] || fail "dump printed nothing"
count="$(python3 - "$tmp/dump.out" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    annotations = json.load(f).get("annotations", [])
# The PDF's own annotations, each with its pdfObjectId (DESIGN §6, reading).
print(len(annotations) if all("pdfObjectId" in a for a in annotations) else 0)
PY
)" || fail "dump did not print Instant JSON: $(head -c 300 "$tmp/dump.out")"
[ "$count" -gt 0 ] || fail "dump printed no annotations of $(basename "$pdf")"
echo "smoke_test: ok: dump $(basename "$pdf") printed $count annotations"

# 4. serve, then GET /healthz
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" serve --data "$tmp/server" --port "$port" >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
healthy=""
for _ in $(seq 1 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        fail "serve exited early: $(head -c 2000 "$tmp/serve.err")"
    fi
    if python3 - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
        healthy=1
        break
    fi
    sleep 0.25
done
[ -n "$healthy" ] || fail "serve did not answer GET /healthz within 30 s: $(head -c 2000 "$tmp/serve.err")"
echo "smoke_test: ok: serve answered /healthz on port $port"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

# 5. the desktop app starts (offscreen) and keeps running with a PDF open: Qt, its platform
#    plugins and MuPDF load from the bundle. A broken bundle dies within a second or two.
"$bin" open "$pdf" >"$tmp/open.out" 2>"$tmp/open.err" &
app_pid=$!
for _ in $(seq 1 24); do
    sleep 0.25
    if ! kill -0 "$app_pid" 2>/dev/null; then
        rc=0
        wait "$app_pid" || rc=$?
        fail "the desktop app exited ($rc) right after start: $(head -c 2000 "$tmp/open.err")"
    fi
done
kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
echo "smoke_test: ok: the desktop app started offscreen with $(basename "$pdf") open"

# 6. what the spec leaves out is really out (PyMuPDF's optional layout analyser and friends)
for module in numpy onnxruntime networkx pymupdf4llm pymupdf/layout; do
    [ ! -e "$internal/$module" ] || fail "$module is in the bundle; packaging/lamina.spec excludes it"
done
echo "smoke_test: ok: the bundle is $(du -sh "$(dirname "$bin")" | cut -f1), without onnxruntime/numpy"

# 7. the log file the bundle's processes wrote
[ -f "$tmp/logs/lamina.log" ] || fail "no log file at \$LAMINA_LOG_DIR/lamina.log"
echo "smoke_test: ok: log file written"
echo "smoke_test: all checks passed"
