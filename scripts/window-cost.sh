#!/usr/bin/env bash
# What the live window costs the trainer: the tutorial setting headless (`rbm-lab bench`), then the
# real window under Xvfb training the same setting with its stats log on, and the ratio.
# Prints the window's samples/s, frames/s and the app's own CPU time per frame.
# Usage: scripts/window-cost.sh [SECONDS] [BINARY] [extra window args...]
# Needs: xvfb xdotool. Run it on a quiet machine: both figures are speeds.
set -euo pipefail
seconds=${1:-60}
bin=${2:-${CARGO_TARGET_DIR:-target}/release/rbm-lab}
shift 2 || shift $#
period=10

headless=$("$bin" bench --only tutorial --seconds "$seconds" | grep -o '[0-9.]* samples/s' | head -n1 | awk '{print $1}')

for d in $(seq 150 190); do [ -e /tmp/.X11-unix/X$d ] || { disp=:$d; break; }; done
export DISPLAY=$disp
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
log=$(mktemp)
Xvfb "$disp" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true; rm -f "$log"' EXIT
sleep 1
"$bin" --stats-every "$period" "$@" 2>"$log" &
app_pid=$!
# One period of warm-up (start-up, first textures), then the measured periods.
sleep $(( seconds + period + 2 ))
wid=$(xdotool search --name '^rbm-lab$' | head -n1)
xdotool windowfocus --sync "$wid" 2>/dev/null || true
xdotool key --clearmodifiers ctrl+q
wait "$app_pid" || true

grep '^rbm-lab stats' "$log" | tail -n +2 | awk -v headless="$headless" '
  { rate += $3; fps += $5; cpu = ($9 > cpu) ? $9 : cpu; n++ }
  END {
    if (n == 0) { print "no stats from the window" > "/dev/stderr"; exit 1 }
    printf "headless: %.0f samples/s\n", headless
    printf "window:   %.0f samples/s (%.1f%% of headless), %.1f frames/s, app CPU p95 up to %.2f ms per frame (%d periods)\n",
      rate / n, 100 * rate / n / headless, fps / n, cpu, n
  }'
