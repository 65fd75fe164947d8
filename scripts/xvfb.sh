# Sourced by the real-window scripts (smoke-window, soak-window, window-cost, window-files,
# window-session).
#   start_xvfb FIRST LAST   a virtual X server on the first free display in FIRST..LAST: exports
#                           DISPLAY and XDG_RUNTIME_DIR, sets xvfb_pid (the caller's trap kills it),
#                           and a fresh XDG_DATA_HOME: eframe restores the last window size from
#                           there, and a window resized once would skew every later measurement
#   press_ctrl_q            Ctrl+Q to the rbm-lab window (it closes, the trainer stops)
#   quit_cleanly            Ctrl+Q, then checks that the program $app_pid exits within 5 s with
#                           status 0 (else calls the caller's `fail MESSAGE`)
#   kill_on_exit            when the script exits, kills the program ($app_pid) and the X server
#   wait_for_window         waits up to 30 s for the window of the program $app_pid (titled
#                           "rbm-lab — DATASET", or "rbm-lab" before its first frame) and
#                           sets wid; calls the caller's `fail MESSAGE` if it does not come
#   shot NAME               a screenshot of the display as $out/NN-NAME.png, NN counting the shots
#                           ($step)

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
  wid=$(xdotool search --name '^rbm-lab( |$)' 2>/dev/null | head -n1 || true)
  [ -n "$wid" ] && xdotool windowfocus --sync "$wid" 2>/dev/null || true
  xdotool key --clearmodifiers ctrl+q
}

kill_on_exit() {
  app_pid=
  xvfb_pid=
  trap '[ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null; [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null; true' EXIT
}

wait_for_window() {
  wid=
  for _ in $(seq 1 60); do
    wid=$(xdotool search --name '^rbm-lab( |$)' 2>/dev/null | head -n1 || true)
    [ -n "$wid" ] && return 0
    kill -0 "$app_pid" 2>/dev/null || fail "the program exited before its window appeared"
    sleep 0.5
  done
  fail "no rbm-lab window appeared within 30 s"
}

step=0
shot() {
  step=$((step + 1))
  xwd -root -silent | convert xwd:- "$out/$(printf %02d $step)-$1.png"
}

quit_cleanly() {
  local code
  press_ctrl_q
  for _ in $(seq 1 50); do
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$app_pid" 2>/dev/null; then fail "still running 5 s after Ctrl+Q"; fi
  set +e
  wait "$app_pid"
  code=$?
  set -e
  app_pid=
  [ "$code" -eq 0 ] || fail "exit code $code"
}
