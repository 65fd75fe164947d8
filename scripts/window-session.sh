#!/usr/bin/env bash
# Real-window session test: closing keeps the session and the next start offers it back, driven
# with xdotool like a person would, in a session folder of its own (--session-dir).
#   start, train a few seconds, Ctrl+Q -> the session file exists and stderr says where
#   start --paused -> "Continue where you left off" is shown -> click Continue -> the loss plot
#   shows the old history (nothing trains: it is paused) and the epoch goes on from where it was:
#   closing reports the first run's samples, not 0
#   start (not paused) -> the offer holds training back (no loss line) -> click Start fresh ->
#   it trains; Ctrl+Q -> the new session replaces the file, the continued one is kept as
#   session.previous.safetensors
#   start --fresh --paused -> no offer; closing an untrained model leaves the session file as it was
# The window is at (0,0) with no window manager, so the offer's buttons sit at fixed coordinates.
# A screenshot of each step goes to OUT_DIR.
# Usage: scripts/window-session.sh [BINARY] [OUT_DIR]
# Needs: xvfb x11-apps imagemagick xdotool
set -euo pipefail
bin=${1:-target/release/rbm-lab}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
. "$(dirname "$0")/xvfb.sh"
kill_on_exit
log="$out/app-1.log"
fail() { echo "window-session: FAIL: $*" >&2; echo "--- screenshots in $out; program output ($log):" >&2; cat "$log" >&2 || true; exit 1; }
# Red pixels in the loss plot of screenshot $1: the batch loss line (egui_plot's first colour,
# #BC4D4D, darker where the offer's backdrop dims it).
loss_line_pixels() {
  convert "$1" -crop 1150x260+290+25 -format %c histogram:info: \
    | awk -F'[(,)]' '{ if ($2 - $3 > 40 && $2 - $4 > 40) n += $1 } END { print n + 0 }'
}
# The samples trained when the window closed, from its log $1.
closing_samples() {
  grep -o 'window closed after training [0-9]* samples' "$1" | awk '{print $5}'
}
# The samples of the model in the session written at close (the trainer's answer, which can be a
# batch ahead of the last progress the window showed), from its log $1.
session_samples() {
  grep -o 'session written to .*: [0-9]* samples' "$1" | awk '{print $(NF - 1)}'
}
start_window() {
  log="$out/app-$1.log"
  shift
  "$bin" --session-dir "$sessions" "$@" >"$log" 2>&1 &
  app_pid=$!
  wait_for_window
  sleep 3 # first frames, first weights
  # winit takes keys and clicks only in the window that has the keyboard focus.
  xdotool windowfocus --sync "$wid"
}

# The offer's buttons in the 1440x900 window (light look, egui's default font, embedded MNIST).
continue_button=(925 505)
start_fresh_button=(843 505)

sessions="$out/sessions"
session="$sessions/session.safetensors"
rm -rf "$sessions"
start_xvfb 90 140

start_window 1
sleep 5 # train
shot trained
quit_cleanly
[ -s "$session" ] || fail "no session file at $session after Ctrl+Q"
grep -q "session written to $session" "$log" || fail "stderr does not say where the session was written"
trained=$(session_samples "$log")
[ "${trained:-0}" -gt 0 ] || fail "the first window did not train"

start_window 2 --paused
shot offer
grep -q "offering the last session" "$log" || fail "the last session was not offered"
before=$(loss_line_pixels "$out/$(printf %02d $step)-offer.png")
xdotool mousemove "${continue_button[@]}" click 1
sleep 3
shot continued
after=$(loss_line_pixels "$out/$(printf %02d $step)-continued.png")
[ "$after" -gt 200 ] || fail "the loss plot shows no history after Continue ($after pixels of the loss line; $before before)"
convert "$out/$(printf %02d $step)-continued.png" -crop 700x24+0+878 "$out/status-bar.png"
quit_cleanly
continued=$(closing_samples "$log")
[ "$continued" = "$trained" ] || fail "the continued window closed at $continued samples, the session had $trained"
grep -q "session written to $session" "$log" || fail "the continued session was not written"
cp "$session" "$out/continued.safetensors"

start_window 3
shot offer-holds-training
grep -q "offering the last session" "$log" || fail "the last session was not offered again"
waiting=$(loss_line_pixels "$out/$(printf %02d $step)-offer-holds-training.png")
[ "$waiting" -le 50 ] || fail "training started while the offer was open ($waiting loss-line pixels)"
xdotool mousemove "${start_fresh_button[@]}" click 1
sleep 4 # train
shot started-fresh
quit_cleanly
fresh_samples=$(closing_samples "$log")
[ "${fresh_samples:-0}" -gt 0 ] || fail "the window did not train after Start fresh"
grep -q "session written to $session" "$log" || fail "the fresh session was not written"
cmp -s "$sessions/session.previous.safetensors" "$out/continued.safetensors" \
  || fail "Start fresh did not keep the last session as session.previous.safetensors"
cmp -s "$session" "$out/continued.safetensors" && fail "the fresh session did not replace the last one"
cp "$session" "$out/kept.safetensors"

start_window 4 --fresh --paused
shot fresh
grep -q "offering the last session" "$log" && fail "--fresh offered the last session"
quit_cleanly
grep -q "no session written" "$log" || fail "an untrained fresh window wrote a session"
cmp -s "$session" "$out/kept.safetensors" || fail "--fresh replaced the session without training"

echo "window-session: ok: a session of $trained samples was written on Ctrl+Q, offered and continued ($after loss-line pixels after Continue, $before before), Start fresh trained $fresh_samples samples and kept the last session as the previous one, and --fresh skipped the offer"
