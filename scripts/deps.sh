#!/usr/bin/env bash
# deps.sh: install what Berth's build and tests need and is missing.
#   scripts/deps.sh         everything (build, run and test)
#   scripts/deps.sh run     what make run needs
#   scripts/deps.sh package what make package needs
# Debian packages go through apt-get (as root, or with sudo when present);
# npm packages through npm ci; Go modules through go mod download; the wails
# CLI through go install. Each step is skipped when already done, so a second
# run takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

say() { echo "deps: $*" >&2; }

# shellcheck source=scripts/retry.sh
. scripts/retry.sh

# Debian packages.
pkgs=(
  docker.io xfsprogs             # the engine, and XFS with reflink for its data root
  debootstrap                    # base images when no registry is reachable
  libwebkit2gtk-4.1-dev libgtk-3-dev pkg-config build-essential   # the Wails desktop build
  libsqlite3-dev                 # the desktop build links the system SQLite (WebKit loads it anyway)
  git ca-certificates curl
)
if [ "$what" = all ] || [ "$what" = package ]; then
  pkgs+=(
    dpkg-dev desktop-file-utils imagemagick help2man   # make package: the .deb's dependencies, desktop entry, icon sizes, manual page
    lintian                      # make test-package: the .deb against Debian policy
  )
fi
if [ "$what" = all ]; then
  pkgs+=(
    postgresql-client            # psql, pg_dump, pg_restore for tests
    xvfb xauth x11-utils xdotool # the desktop smoke test and screenshots (with imagemagick)
    chromium                     # browser tests (playwright-core drives it)
    shellcheck                   # make lint: the shell scripts
    gnome-keyring dbus-daemon    # the secret store's keyring tests: a real Secret Service on a session bus
    openssh-server openssh-client iproute2 iptables   # the remote-engine rig: a second engine in a network namespace, reached over ssh
  )
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    sudo=sudo
  fi
  say "installing ${missing[*]}"
  retry $sudo apt-get update -qq
  retry $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go modules.
retry go mod download

# The wails CLI (wails dev, wails doctor); the build itself needs only go.
gobin=$(go env GOBIN); gobin=${gobin:-$(go env GOPATH)/bin}
if [ ! -x "$gobin/wails" ] || ! "$gobin/wails" version 2>/dev/null | grep -q 'v2.12.0'; then
  say "installing the wails CLI v2.12.0"
  retry go install github.com/wailsapp/wails/v2/cmd/wails@v2.12.0
fi

# npm packages, when the lock file changed since the last install.
if [ -f frontend/package-lock.json ]; then
  stamp=frontend/node_modules/.berth-lock
  if [ ! -f "$stamp" ] || ! cmp -s frontend/package-lock.json "$stamp"; then
    say "installing frontend packages"
    (cd frontend && retry npm ci --no-audit --no-fund --loglevel=error)
    cp frontend/package-lock.json "$stamp"
  fi
fi
say "ready"
