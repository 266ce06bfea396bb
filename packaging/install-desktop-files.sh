#!/usr/bin/env bash
# Install Lamina's desktop entry, AppStream metadata and icons for the current user, so the
# app shows up in the application menu, opens PDFs and handles lamina:// invite links.
#
#   bash packaging/install-desktop-files.sh                 # Exec= the `lamina` on PATH
#   bash packaging/install-desktop-files.sh --exec "$PWD/dist/lamina/lamina"   # the bundle
#   bash packaging/install-desktop-files.sh --uninstall
#
# Files go under ${XDG_DATA_HOME:-~/.local/share}: applications/lamina.desktop,
# metainfo/io.lamina.Lamina.metainfo.xml, icons/hicolor/<N>x<N>/apps/lamina.png and
# icons/hicolor/scalable/apps/lamina.svg.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
sizes="16 24 32 48 64 128 256 512"

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

exec_path=""
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --exec) exec_path="${2:?--exec needs a path}"; shift 2 ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-desktop-files: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

refresh_caches() {
    # Each tool is optional: desktops pick the files up at next login without them.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$data/applications" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$data/icons/hicolor" || true
    fi
}

if [ "$uninstall" = 1 ]; then
    rm -f "$data/applications/lamina.desktop" "$data/metainfo/io.lamina.Lamina.metainfo.xml" \
        "$data/icons/hicolor/scalable/apps/lamina.svg"
    for n in $sizes; do rm -f "$data/icons/hicolor/${n}x${n}/apps/lamina.png"; done
    refresh_caches
    echo "removed Lamina's desktop files from $data"
    exit 0
fi

if [ -z "$exec_path" ]; then
    # A menu launcher may not have ~/.local/bin on its PATH: write the absolute path.
    exec_path="$(command -v lamina || true)"
    if [ -z "$exec_path" ]; then
        echo "install-desktop-files: no 'lamina' on PATH; install Lamina first" \
             "(python3 -m pip install .) or pass --exec /path/to/lamina" >&2
        exit 1
    fi
fi
if [ ! -x "$exec_path" ]; then
    echo "install-desktop-files: $exec_path is not an executable file" >&2
    exit 1
fi
case "$exec_path" in
    *[[:space:]]*) quoted="\"$exec_path\"" ;;
    *) quoted="$exec_path" ;;
esac

mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=lamina |Exec=$quoted |" -e "s|^TryExec=lamina\$|TryExec=$exec_path|" \
    "$here/lamina.desktop" >"$data/applications/lamina.desktop"
install -m 644 "$here/io.lamina.Lamina.metainfo.xml" "$data/metainfo/"
install -m 644 "$repo/resources/icons/lamina.svg" "$data/icons/hicolor/scalable/apps/lamina.svg"
for n in $sizes; do
    install -D -m 644 "$repo/resources/icons/hicolor/${n}x${n}/apps/lamina.png" \
        "$data/icons/hicolor/${n}x${n}/apps/lamina.png"
done
refresh_caches

if command -v xdg-mime >/dev/null 2>&1; then
    xdg-mime default lamina.desktop x-scheme-handler/lamina || true
else
    echo "install-desktop-files: xdg-mime not found (apt-get install xdg-utils);" \
         "lamina.desktop is registered for lamina:// links but not set as their default" >&2
fi
echo "installed Lamina's desktop files in $data (Exec=$exec_path)"
