#!/usr/bin/env bash
# Real-window smoke test: runs the release binary under Xvfb, checks that it draws a non-blank
# window and trains, closes it with Ctrl+Q and checks that it exits cleanly and promptly.
# Usage: scripts/smoke-window.sh [BINARY] [OUT_DIR]
# Needs: xvfb x11-apps imagemagick xdotool
set -euo pipefail
bin=${1:-target/release/rbm-lab}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
. "$(dirname "$0")/xvfb.sh"
kill_on_exit
fail() { echo "smoke-window: FAIL: $*" >&2; echo "--- program output:" >&2; cat "$out/app.log" >&2 || true; exit 1; }

start_xvfb 90 140
"$bin" >"$out/app.log" 2>&1 &
app_pid=$!
wait_for_window

sleep 8  # let it train and draw
kill -0 "$app_pid" 2>/dev/null || fail "the program exited while training"
xwd -root -silent | convert xwd:- "$out/window.png"
colors=$(convert "$out/window.png" -format %k info:)
[ "$colors" -gt 100 ] || fail "the window looks blank ($colors colours in $out/window.png)"
# The loss plot's background (egui's extreme_bg_color), filled by rbm-lab's own GL program.
grep -q "plot backgrounds and images left to egui" "$out/app.log" && fail "the GL programs (plot backgrounds, images) did not build"
plot_bg=$(convert "$out/window.png" -format %c histogram:info: | awk '/#0A0A0A/ {print $1+0}')
[ "${plot_bg:-0}" -gt 100000 ] || fail "no plot background (${plot_bg:-0} pixels of #0A0A0A)"
# The batch loss line (egui_plot's first colour), which the light look draws without anti-aliasing.
line_px=$(convert "$out/window.png" -format %c histogram:info: | awk '/#BC4D4D/ {print $1+0}')
[ "${line_px:-0}" -gt 200 ] || fail "no batch loss line (${line_px:-0} pixels of #BC4D4D)"
# The window's threads (UI, llvmpipe) give way to the trainer's (when they start below nice 10:
# under `nice -n 10` the whole program is there already and nothing is lowered).
if [ "$(nice)" -lt 10 ]; then
  grep -q "window threads at nice 10 .*llvmpipe" "$out/app.log" || fail "the window's threads were not lowered (--ui-nice)"
fi
# Under Xvfb OpenGL is Mesa's software renderer, for which the window picks its light look.
grep -q "OpenGL renders on the CPU (.*): light look" "$out/app.log" || fail "software OpenGL not recognised (no light look)"
# The filter atlas, drawn by rbm-lab's image program: a square well inside it shows the weights' many
# grey levels (one colour if the program drew nothing).
atlas=$(convert "$out/window.png" -crop 100x100+450+450 -format %k info:)
[ "$atlas" -gt 50 ] || fail "no filter atlas inside (450,450)-(550,550): $atlas colours"

quit_cleanly
line=$(grep -o 'window closed after training [0-9]* samples.*' "$out/app.log" || true)
[ -n "$line" ] || fail "no shutdown summary in the log"
samples=$(echo "$line" | awk '{print $5}')
[ "$samples" -gt 0 ] || fail "it did not train ($line)"
echo "$line" | grep -q "trainer stopped" || fail "the trainer did not stop ($line)"
echo "smoke-window: ok: $colors colours on screen, $plot_bg plot-background pixels, $line_px loss-line pixels, $atlas colours in the atlas; $line"
