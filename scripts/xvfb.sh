# Sourced by the real-window scripts (smoke-window, soak-window, window-cost).
#   start_xvfb FIRST LAST   a virtual X server on the first free display in FIRST..LAST: exports
#                           DISPLAY and XDG_RUNTIME_DIR, sets xvfb_pid (the caller's trap kills it),
#                           and a fresh XDG_DATA_HOME: eframe restores the last window size from
#                           there, and a window resized once would skew every later measurement
#   press_ctrl_q            Ctrl+Q to the rbm-lab window (it closes, the trainer stops)

start_xvfb() {
  local d disp=
  for d in $(seq "$1" "$2"); do [ -e /tmp/.X11-unix/X$d ] || { disp=:$d; break; }; done
  [ -n "$disp" ] || { echo "no free X display in $1..$2" >&2; return 1; }
  export DISPLAY=$disp
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
  chmod 700 "$XDG_RUNTIME_DIR"
  XDG_DATA_HOME=$(mktemp -d)
  export XDG_DATA_HOME
  Xvfb "$disp" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb_pid=$!
  sleep 1
}

press_ctrl_q() {
  local wid
  wid=$(xdotool search --name '^rbm-lab$' 2>/dev/null | head -n1 || true)
  [ -n "$wid" ] && xdotool windowfocus --sync "$wid" 2>/dev/null || true
  xdotool key --clearmodifiers ctrl+q
}
