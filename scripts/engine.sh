#!/usr/bin/env bash
# engine.sh: make sure a Docker engine answers.
#
# If the current Docker context already answers, nothing is done. Otherwise, when
# running as root on a machine with dockerd installed, a private engine is started
# in the background with its data root on a loop-mounted XFS file system made with
# reflink=1, so that volume copies can be copy-on-write (database clones need it).
#
# Settings (environment):
#   BERTH_ENGINE_IMG   backing file of the XFS file system (default /var/lib/berth-engine.img)
#   BERTH_ENGINE_SIZE  its size when first made (default 40G; the file is sparse)
#   BERTH_ENGINE_ROOT  where it is mounted and used as dockerd's --data-root
set -euo pipefail

img=${BERTH_ENGINE_IMG:-/var/lib/berth-engine.img}
size=${BERTH_ENGINE_SIZE:-40G}
root=${BERTH_ENGINE_ROOT:-/var/lib/berth-engine}
log=${BERTH_ENGINE_LOG:-/var/log/berth-dockerd.log}

say() { echo "engine: $*" >&2; }

answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if answers; then
  say "Docker engine $(docker version --format '{{.Server.Version}}' 2>/dev/null) answers"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  say "no Docker engine answers and this is not root: start Docker (or set DOCKER_HOST) and try again"
  exit 1
fi
command -v dockerd >/dev/null || { say "dockerd is not installed (apt-get install docker.io)"; exit 1; }

# The XFS file system with reflink for the data root.
if ! mountpoint -q "$root"; then
  mkdir -p "$root" "$(dirname "$img")"
  if [ ! -f "$img" ]; then
    say "making a $size XFS file system with reflink at $img"
    truncate -s "$size" "$img"
    mkfs.xfs -q -m reflink=1 "$img"
  fi
  mount -o loop "$img" "$root"
fi
xfs_info "$root" 2>/dev/null | grep -q 'reflink=1' || say "warning: $root has no reflink; volume copies will be full copies"

# A stale pid file from a killed engine stops dockerd from starting.
for pidf in /var/run/docker.pid "$root/../berth-dockerd.pid"; do
  if [ -f "$pidf" ] && ! kill -0 "$(cat "$pidf")" 2>/dev/null; then rm -f "$pidf"; fi
done
if [ -f /var/run/docker.pid ]; then
  pid=$(cat /var/run/docker.pid)
  say "dockerd (pid $pid) is running but does not answer yet; waiting"
else
  if ! pgrep -x containerd >/dev/null && command -v containerd >/dev/null; then
    nohup containerd >>"${log%.log}-containerd.log" 2>&1 &
  fi
  say "starting dockerd (data root $root, log $log)"
  nohup dockerd --data-root "$root/docker" --storage-driver overlay2 >>"$log" 2>&1 &
fi

for _ in $(seq 1 120); do
  if answers; then
    say "Docker engine $(docker version --format '{{.Server.Version}}') is up"
    exit 0
  fi
  sleep 0.5
done
say "dockerd did not answer within 60 s; last lines of $log:"
tail -n 20 "$log" >&2
exit 1
