# shellcheck shell=bash
# retry.sh, sourced by the set-up scripts (they define say first).
#
# retry CMD...: runs a step that downloads up to three times, 15 s apart
# (BERTH_RETRY_PAUSE seconds), so that a registry or mirror dropping a
# connection now and then does not fail the whole run. The step must be
# safe to run again (npm ci, apt-get, go mod download and docker build are).
retry() {
  local i
  for i in 1 2 3; do
    "$@" && return 0
    [ "$i" = 3 ] && break
    say "failed (attempt $i of 3): $*; trying again in ${BERTH_RETRY_PAUSE:-15} s"
    sleep "${BERTH_RETRY_PAUSE:-15}"
  done
  return 1
}
