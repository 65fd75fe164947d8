#!/usr/bin/env bash
# Real-window file test: saving and loading a model through the File menu on a desktop with no
# system file dialog (Xvfb, no session bus, no zenity), driven with xdotool like a person would.
#   start paused -> File > Save model... -> rbm-lab's dialog -> type a path, Enter -> the file exists
#   Step (the model changes) -> File > Load model... -> type the first path, Enter -> "Unsaved
#   training" -> Discard -> File > Save model... -> a second path -> both files byte-identical
# The window is at (0,0) with no window manager, so the menus and dialogs sit at fixed coordinates.
# A screenshot of each step and the model files go to OUT_DIR.
# Usage: scripts/window-files.sh [BINARY] [OUT_DIR] [RBM-LAB ARGS...]
# Needs: xvfb x11-apps imagemagick xdotool
set -euo pipefail
bin=${1:-target/release/rbm-lab}
out=${2:-$(mktemp -d)}
shift $(($# < 2 ? $# : 2))
mkdir -p "$out"
. "$(dirname "$0")/xvfb.sh"
kill_on_exit
fail() { echo "window-files: FAIL: $*" >&2; echo "--- screenshots in $out; program output:" >&2; cat "$out/app.log" >&2 || true; exit 1; }
# Waits up to $2 seconds for the file $1 to exist with a non-zero size.
wait_for_file() {
  for _ in $(seq 1 $(($2 * 10))); do
    [ -s "$1" ] && return 0
    kill -0 "$app_pid" 2>/dev/null || fail "the program exited"
    sleep 0.1
  done
  return 1
}
click() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-0.8}"; }
type_path() { xdotool key ctrl+a; xdotool type --delay 15 "$1"; sleep 0.3; }

# Coordinates in the 1440x900 window (light look, egui's default font).
file_menu=(20 12)
save_item=(55 94)
load_item=(55 72)
step_button=(81 61)
discard_button=(836 496)

work="$out/models"
mkdir -p "$work"
first="$work/first.safetensors"
second="$work/second.safetensors"

start_xvfb 90 140
# No session bus and no zenity: the system file dialog cannot appear here.
env -u DBUS_SESSION_BUS_ADDRESS "$bin" --paused "$@" >"$out/app.log" 2>&1 &
app_pid=$!
wait_for_window
sleep 3 # first frames, first weights
# winit takes keys only in the window that has the keyboard focus (no window manager gives it).
xdotool windowfocus --sync "$wid"
shot started

click "${file_menu[@]}"
shot file-menu
click "${save_item[@]}" 1.5
shot save-dialog
type_path "$first"
shot save-path-typed
xdotool key Return
wait_for_file "$first" 10 || { shot save-failed; fail "Save model... did not write $first"; }
sleep 0.5
shot saved

click "${step_button[@]}" 1.5 # one batch: the model now differs from the saved one
shot stepped
click "${file_menu[@]}"
click "${load_item[@]}" 1.5
shot load-dialog
type_path "$first"
xdotool key Return
sleep 2
shot unsaved-question
click "${discard_button[@]}" 2
shot loaded

click "${file_menu[@]}"
click "${save_item[@]}" 1.5
type_path "$second"
shot second-save-dialog
xdotool key Return
wait_for_file "$second" 10 || { shot second-save-failed; fail "the second Save model... did not write $second"; }
sleep 0.5
shot saved-again
cmp -s "$first" "$second" || fail "the model loaded from $first and saved again differs from it (was it loaded?)"

quit_cleanly
size=$(stat -c %s "$first")
echo "window-files: ok: saved, changed, loaded and saved again through rbm-lab's file dialog; two identical $size-byte model files"
