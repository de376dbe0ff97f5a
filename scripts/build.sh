#!/usr/bin/env bash
# build.sh: build the Berth desktop binary, build/bin/berth.
#
#   scripts/build.sh            the desktop app + CLI (needs cgo, GTK 3, WebKitGTK 4.1)
#   scripts/build.sh nogui      the CLI only (no cgo, no WebKit): build/bin/berth-nogui
#
# Steps: install the frontend's npm packages with `npm ci` when node_modules
# is missing or older than package-lock.json, build the frontend with vite
# into frontend/dist (which the binary embeds), then go build.
#
# The Go build tags are the ones the wails CLI passes: desktop (its output
# type) and production (a release window, no dev tools); webkit2_41 links
# WebKitGTK 4.1 (Debian 12's libwebkit2gtk-4.1-dev) instead of 4.0, see the
# #cgo lines of wails' internal/frontend/desktop/linux. On Linux wails needs
# no other cgo flags: pkg-config finds gtk+-3.0 and webkit2gtk-4.1.
#
# `wails build -m` (skip go mod tidy) does the same through the wails CLI,
# reading wails.json; this script is what CI and the Makefile use.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-desktop}

say() { echo "build: $*" >&2; }

# Frontend packages: the same stamp as scripts/deps.sh, so either script
# notices a changed lock file.
stamp=frontend/node_modules/.berth-lock
if [ ! -d frontend/node_modules ] || [ ! -f "$stamp" ] || ! cmp -s frontend/package-lock.json "$stamp"; then
  say "installing frontend packages (npm ci)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  cp frontend/package-lock.json "$stamp"
fi

say "building the frontend"
(cd frontend && npm run --silent build -- --logLevel warn)

mkdir -p build/bin
case "$what" in
  desktop)
    out=build/bin/berth
    say "building $out"
    CGO_ENABLED=1 go build -tags desktop,production,webkit2_41 -ldflags "-s -w" -o "$out" .
    ;;
  nogui)
    out=build/bin/berth-nogui
    say "building $out"
    CGO_ENABLED=0 go build -tags nogui -ldflags "-s -w" -o "$out" .
    ;;
  *)
    echo "usage: scripts/build.sh [desktop|nogui]" >&2
    exit 2
    ;;
esac
size=$(stat -c %s "$out")
say "$out: $(numfmt --to=iec-i --suffix=B "$size") ($size bytes)"
