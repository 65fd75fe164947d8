#!/usr/bin/env bash
# Long run of the real window under Xvfb, training all the time, sampling its resident set size.
# Prints "minute,rss_mib" lines and closes the window (Ctrl+Q) at the end.
# Usage: scripts/soak-window.sh MINUTES [BINARY] [extra rbm-lab args...]
# Needs: xvfb xdotool. Run it niced (nice -n 19) to keep the machine usable meanwhile.
set -euo pipefail
minutes=${1:?minutes}
bin=${2:-target/release/rbm-lab}
shift 2 || shift $#
. "$(dirname "$0")/xvfb.sh"
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true' EXIT
start_xvfb 150 190
"$bin" "$@" >/tmp/soak-app.log 2>&1 &
app_pid=$!
echo "minute,rss_mib"
start=$(date +%s)
while :; do
  now=$(date +%s)
  elapsed=$(( now - start ))
  rss_kib=$(ps -o rss= -p "$app_pid" 2>/dev/null | tr -d ' ')
  [ -n "$rss_kib" ] || { echo "the program exited early" >&2; cat /tmp/soak-app.log >&2; exit 1; }
  awk -v m="$elapsed" -v r="$rss_kib" 'BEGIN {printf "%.1f,%.1f\n", m / 60, r / 1024}'
  [ "$elapsed" -ge $(( minutes * 60 )) ] && break
  sleep 30
done
press_ctrl_q
wait "$app_pid" || true
tail -n 1 /tmp/soak-app.log
