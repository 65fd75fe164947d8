#!/usr/bin/env bash
# What the live window costs the trainer: the tutorial setting headless (`rbm-lab bench`: the bare
# CD step; `rbm-lab train`: the same trainer thread as the window, with its monitors), then the real
# window under Xvfb training the same setting with its stats log on, and the ratios.
# Prints the window's samples/s, frames/s and the app's own CPU time per frame.
# Usage: scripts/window-cost.sh [SECONDS] [BINARY] [extra window args...]
# Needs: xvfb xdotool. Run it on a quiet machine: both figures are speeds.
set -euo pipefail
seconds=${1:-60}
bin=${2:-${CARGO_TARGET_DIR:-target}/release/rbm-lab}
shift 2 || shift $#
period=10

headless=$("$bin" bench --only tutorial --seconds "$seconds" | grep -o '[0-9.]* samples/s' | head -n1 | awk '{print $1}')
# Epoch rates of the trainer without a window (the first epoch, with start-up, left out).
model=$(mktemp --suffix=.safetensors)
trained=$("$bin" train --epochs 8 --out "$model" | grep '^epoch' | tail -n +2 | awk '{print $(NF-1)}' |
  sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
rm -f "$model"

. "$(dirname "$0")/xvfb.sh"
log=$(mktemp)
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true; rm -f "$log"' EXIT
start_xvfb 150 190
"$bin" --stats-every "$period" "$@" 2>"$log" &
app_pid=$!
# One period of warm-up (start-up, first textures), then the measured periods.
sleep $(( seconds + period + 2 ))
press_ctrl_q
wait "$app_pid" || true

grep '^rbm-lab stats' "$log" | tail -n +2 | awk -v headless="$headless" -v trained="$trained" '
  { rate += $3; fps += $5; cpu = ($9 > cpu) ? $9 : cpu; n++ }
  END {
    if (n == 0) { print "no stats from the window" > "/dev/stderr"; exit 1 }
    printf "headless: bench %.0f samples/s, train %.0f samples/s (median epoch)\n", headless, trained
    printf "window:   %.0f samples/s (%.1f%% of train, %.1f%% of bench), %.1f frames/s, app CPU p95 up to %.2f ms per frame (%d periods)\n",
      rate / n, 100 * rate / n / trained, 100 * rate / n / headless, fps / n, cpu, n
  }'
