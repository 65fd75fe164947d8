#!/usr/bin/env bash
# Long run of the real window under Xvfb, training all the time, sampling its resident set size.
# Prints "minute,rss_mib" lines and closes the window (Ctrl+Q) at the end.
# Usage: scripts/soak-window.sh MINUTES [BINARY] [extra rbm-lab args...]
# Needs: xvfb xdotool. Run it niced (nice -n 19) to keep the machine usable meanwhile.
set -euo pipefail
minutes=${1:?minutes}
bin=${2:-target/release/rbm-lab}
shift 2 || shift $#
for d in $(seq 150 190); do [ -e /tmp/.X11-unix/X$d ] || { disp=:$d; break; }; done
export DISPLAY=$disp
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
Xvfb "$disp" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill $app_pid $xvfb_pid 2>/dev/null || true' EXIT
sleep 1
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
wid=$(xdotool search --name '^rbm-lab$' | head -n1)
xdotool windowfocus --sync "$wid" 2>/dev/null || true
xdotool key --clearmodifiers ctrl+q
wait "$app_pid" || true
tail -n 1 /tmp/soak-app.log
