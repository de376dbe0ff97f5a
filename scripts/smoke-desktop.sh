#!/usr/bin/env bash
# smoke-desktop.sh: open the real desktop window under Xvfb and screenshot it.
#
#   scripts/smoke-desktop.sh [SCREENSHOT]        default /tmp/berth-window.png
#   scripts/smoke-desktop.sh BINARY SCREENSHOT   (as make test-desktop calls it)
#
# Starts a private Xvfb display, runs build/bin/berth (build it first with
# scripts/build.sh) with no arguments, waits for a window named "Berth"
# (xwininfo), then for the frontend's first listing (the binary logs its API
# calls with BERTH_DEBUG=1) and its first paint, and takes a screenshot of
# the screen with imagemagick's import.
#
# Exit status: 0 window shown and data loaded; 1 the window never appeared
# or the binary died; 2 the window appeared but no listing arrived (the
# screenshot is still taken, to see why); 3 missing tools or binary; 4 the
# window process loaded a GL driver (see below).
#
# Settings (environment):
#   BERTH_BIN          the binary (default build/bin/berth)
#   BERTH_DEFINITIONS  the definitions folder (default ./environments)
#   SMOKE_TIMEOUT      seconds to wait for the window, then for data (default 60)
#   SMOKE_SIZE         the screen size (default 1200x800, the window's size)
#   SMOKE_SETTLE       seconds to wait after the first paint (default 1)
# Debian packages: xvfb x11-utils imagemagick (scripts/deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BERTH_BIN:-build/bin/berth}
if [ $# -ge 2 ]; then
  bin=$1; shift
fi
shot=${1:-/tmp/berth-window.png}
timeout=${SMOKE_TIMEOUT:-60}
size=${SMOKE_SIZE:-1200x800}
export BERTH_DEFINITIONS=${BERTH_DEFINITIONS:-$PWD/environments}

say() { echo "smoke: $*" >&2; }

for tool in Xvfb xwininfo import convert; do
  command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install xvfb x11-utils imagemagick)"; exit 3; }
done
[ -x "$bin" ] || { say "$bin is missing: build it with scripts/build.sh"; exit 3; }

work=$(mktemp -d)
xvfb_pid="" app_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A display of our own: Xvfb picks a free number and writes it to fd 3.
Xvfb -displayfd 3 -screen 0 "${size}x24" -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 100); do
  [ -s "$work/display" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || { say "Xvfb failed:"; cat "$work/xvfb.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/display" ] || { say "Xvfb did not start"; exit 1; }
DISPLAY=":$(head -n1 "$work/display")"
export DISPLAY
say "display $DISPLAY, definitions $BERTH_DEFINITIONS"

# Settings, window geometry and history go to a folder of this run, not the
# user's.
XDG_CONFIG_HOME="$work/config" BERTH_STATE_DIR="$work/state" BERTH_DEBUG=1 "$bin" >"$work/app.log" 2>&1 &
app_pid=$!

# The window.
deadline=$((SECONDS + timeout))
until xwininfo -root -tree 2>/dev/null | grep -q '"Berth"'; do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    say "berth exited before its window appeared:"; cat "$work/app.log" >&2; exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    say "no window named Berth after ${timeout}s"; cat "$work/app.log" >&2; exit 1
  fi
  sleep 0.2
done
say "window is up after ${SECONDS}s"

# The first listing (ListEnvironments answered, with data or an error).
status=0
deadline=$((SECONDS + timeout))
until grep -q 'ListEnvironments:' "$work/app.log"; do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    say "berth exited:"; cat "$work/app.log" >&2; exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    say "the window asked for no listing within ${timeout}s"; status=2; break
  fi
  sleep 0.2
done
grep 'ListEnvironments:' "$work/app.log" | head -n1 | sed 's/^/smoke: /' >&2 || true

# Let the page paint what it received: a screen of one colour is the
# window's background before the first paint.
mkdir -p "$(dirname "$shot")"
deadline=$((SECONDS + timeout))
while :; do
  import -window root "$shot"
  colours=$(convert "$shot" -format %k info:)
  [ "$colours" -gt 64 ] && break
  if [ $SECONDS -ge $deadline ]; then
    say "the window is still blank after ${timeout}s"; status=2; break
  fi
  sleep 0.5
done
sleep "${SMOKE_SETTLE:-1}"
import -window root "$shot"
say "screenshot: $shot"

# The window process sets up no GL on X11 (app/desktop/nogl): the
# web process paints, so a GL driver here is memory and start-up lost.
if [ "${BERTH_WINDOW_GL:-}" != 1 ]; then
  gl=$(grep -oE '[^/ ]*(libLLVM|_dri\.so|libEGL_mesa|libGLX_mesa)[^/ ]*$' "/proc/$app_pid/maps" | sort -u | tr '\n' ' ' || true)
  if [ -n "$gl" ]; then
    say "the window process loaded GL: $gl"; status=4
  else
    say "the window process loaded no GL driver"
  fi
fi
if [ "$status" != 0 ]; then cat "$work/app.log" >&2; fi
exit "$status"
