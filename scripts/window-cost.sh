#!/usr/bin/env bash
# What the live window costs the trainer, in ROUNDS back-to-back pairs: `rbm-lab train` headless
# (the same trainer thread as the window, with its monitors; median epoch rate, the first epoch
# with start-up left out), then the real window under Xvfb training the same setting for SECONDS
# with its stats log on. Each round's ratio compares two runs a minute apart, so the machine's
# drift (±5-8% here across minutes) moves both; the median ratio over rounds is the figure.
# Also prints `rbm-lab bench` once (the bare CD step) and the window's frames/s and app CPU.
# Usage: scripts/window-cost.sh [SECONDS] [BINARY] [ROUNDS] [extra window args...]
# Comparing builds or settings: VARIANTS="BINARY_A --fps 30; BINARY_B --fps 30; BINARY_A --fps 15"
# runs each variant's window (a binary and its window args, ';' between variants) in every round
# after the same headless reference (BINARY's), in an order rotated from round to round, and prints
# each variant's median: interleaved, so that the machine's drift moves them all alike.
# Needs: xvfb xdotool. Run it on a quiet machine: both figures are speeds.
set -euo pipefail
seconds=${1:-60}
bin=${2:-${CARGO_TARGET_DIR:-target}/release/rbm-lab}
rounds=${3:-1}
shift 3 || shift $#
period=10

. "$(dirname "$0")/xvfb.sh"
if [ -n "${VARIANTS:-}" ]; then
  IFS=';' read -ra variants <<<"$VARIANTS"
else
  variants=("$bin $*")
fi
count=${#variants[@]}
log=$(mktemp)
model=$(mktemp --suffix=.safetensors)
ratios_dir=$(mktemp -d)
trap 'kill ${app_pid:-} ${xvfb_pid:-} 2>/dev/null || true; rm -rf "$log" "$model" "$ratios_dir"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

bench=$("$bin" bench --only tutorial --seconds "$seconds" | grep -o '[0-9.]* samples/s' | head -n1 | awk '{print $1}')
printf "headless: bench %.0f samples/s\n" "$bench"
for round in $(seq "$rounds"); do
  trained=$("$bin" train --epochs 5 --out "$model" | grep '^epoch' | tail -n +2 | awk '{print $(NF-1)}' | median)
  for step in $(seq 0 $(( count - 1 ))); do
    v=$(( (step + round - 1) % count ))
    read -ra window <<<"${variants[$v]}"
    start_xvfb 150 190
    "${window[@]}" --stats-every "$period" 2>"$log" &
    app_pid=$!
    # One period of warm-up (start-up, first textures), then the measured periods.
    sleep $(( seconds + period + 2 ))
    press_ctrl_q
    wait "$app_pid" || true
    kill "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
    line=$(grep '^rbm-lab stats' "$log" | tail -n +2 | awk -v trained="$trained" -v round="$round" -v variant="$v" '
      { rate += $3; fps += $5; cpu = ($9 > cpu) ? $9 : cpu; n++ }
      END {
        if (n == 0) exit 1
        printf "%.2f round %d, variant %d: train %.0f samples/s, window %.0f samples/s (%.1f%%), %.1f frames/s, app CPU p95 up to %.2f ms per frame\n",
          100 * rate / n / trained, round, variant, trained, rate / n, 100 * rate / n / trained, fps / n, cpu
      }') || { echo "round $round, variant $v: no stats from the window" >&2; exit 1; }
    echo "${line#* }"
    echo "${line%% *}" >>"$ratios_dir/$v"
  done
done
for v in $(seq 0 $(( count - 1 ))); do
  median <"$ratios_dir/$v" |
    awk -v n="$rounds" -v v="$v" -v name="${variants[$v]}" \
      '{printf "window, variant %d (%s): %.1f%% of headless training speed (median of %d rounds; cost %.1f%%)\n", v, name, $1, n, 100 - $1}'
done
