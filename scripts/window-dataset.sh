#!/usr/bin/env bash
# Real-window dataset switch: while the window trains on the embedded MNIST, File > Dataset >
# Fashion-MNIST (Debian's dataset-fashion-mnist), driven with xdotool like a person would; the
# window's title must follow ("rbm-lab — MNIST", then "rbm-lab — Fashion-MNIST") and training go
# on. Screenshots before and after go to OUT_DIR (after.png: the filters retraining on clothes,
# "Fashion-MNIST training" as the tab, "dataset: Fashion-MNIST" in the status bar).
# Without the package it prints "window-dataset: skipped" and succeeds.
# The window is at (0,0) with no window manager, so the menus sit at fixed coordinates.
# Usage: scripts/window-dataset.sh [BINARY] [OUT_DIR] [RBM-LAB ARGS...]
# Needs: xvfb x11-apps imagemagick xdotool
set -euo pipefail
bin=${1:-target/release/rbm-lab}
out=${2:-$(mktemp -d)}
shift $(($# < 2 ? $# : 2))
mkdir -p "$out"
fashion=/usr/share/datasets/fashion-mnist
if [ ! -e "$fashion/train-images-idx3-ubyte.gz" ] && [ ! -e "$fashion/train-images-idx3-ubyte" ]; then
  echo "window-dataset: skipped: $fashion not installed (apt install dataset-fashion-mnist)"
  exit 0
fi
. "$(dirname "$0")/xvfb.sh"
kill_on_exit
fail() { echo "window-dataset: FAIL: $*" >&2; echo "--- screenshots in $out; program output:" >&2; cat "$out/app.log" >&2 || true; exit 1; }
shot() { xwd -root -silent | convert xwd:- "$out/$1.png"; }
# Waits up to $2 seconds for the window's title to be $1.
wait_for_title() {
  local title=
  for _ in $(seq 1 $(($2 * 10))); do
    title=$(xdotool getwindowname "$wid" 2>/dev/null || true)
    [ "$title" = "$1" ] && return 0
    kill -0 "$app_pid" 2>/dev/null || fail "the program exited"
    sleep 0.1
  done
  fail "the window's title is \"$title\", not \"$1\""
}

# Coordinates in the 1440x900 window (light look, egui's default font).
file_menu=(20 12)
dataset_item=(55 39)
fashion_item=(240 61)

start_xvfb 90 140
"$bin" "$@" >"$out/app.log" 2>&1 &
app_pid=$!
wait_for_window
wait_for_title "rbm-lab — MNIST" 10
sleep 4 # training on digits
xdotool windowfocus --sync "$wid"
shot before

xdotool mousemove "${file_menu[@]}" click 1
sleep 0.8
xdotool mousemove "${dataset_item[@]}"
sleep 1
shot dataset-menu
xdotool mousemove "${fashion_item[@]}" click 1
# The title follows the trainer, which names the dataset once it trains on it.
wait_for_title "rbm-lab — Fashion-MNIST" 20
sleep 8 # the filters retrain on clothes
kill -0 "$app_pid" 2>/dev/null || fail "the program exited while training"
shot after

quit_cleanly
line=$(grep -o 'window closed after training [0-9]* samples.*' "$out/app.log" || true)
[ -n "$line" ] || fail "no shutdown summary in the log"
echo "window-dataset: ok: the title went from MNIST to Fashion-MNIST through File > Dataset while training; $line"
