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
# libsqlite3 makes the store's SQLite driver link the system library (see
# internal/store/driver_cgo.go) instead of compiling its bundled copy.
#
# Both binaries carry the version scripts/version.sh prints (berth version
# says it), stamped in with -ldflags -X.
#
# `wails build -m` (skip go mod tidy) does the same through the wails CLI,
# reading wails.json; this script is what CI and the Makefile use.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-desktop}

say() { echo "build: $*" >&2; }
# shellcheck source=scripts/retry.sh
. scripts/retry.sh

# Frontend packages: the same stamp as scripts/deps.sh, so either script
# notices a changed lock file.
stamp=frontend/node_modules/.berth-lock
if [ ! -d frontend/node_modules ] || [ ! -f "$stamp" ] || ! cmp -s frontend/package-lock.json "$stamp"; then
  say "installing frontend packages (npm ci)"
  (cd frontend && retry npm ci --no-audit --no-fund --loglevel=error)
  cp frontend/package-lock.json "$stamp"
fi

say "building the frontend"
(cd frontend && npm run --silent build -- --logLevel warn)

mkdir -p build/bin
version=$(scripts/version.sh) || version="" # outside Git without BERTH_VERSION: berth version says "dev"
ldflags="-s -w -X github.com/berthdev/berth/app/cli.Version=$version"
case "$what" in
  desktop)
    out=build/bin/berth
    say "building $out"
    # Inlining off in packages that only move bytes between Berth and
    # the outside (the Wails runtime, the Docker client, HTTP, TLS, the
    # crypto behind Git's signatures, telemetry hooks, templates, and
    # compose-go's loader, run once per load): their cost is in I/O or
    # start-up, not calls, and inlining in them alone made the binary
    # about 0.9 MB larger when the list was made (25.7 MB with it, 24.8 MB
    # without). Berth's own packages, go-git, SQLite and the runtime keep
    # it.
    lean=()
    for p in github.com/wailsapp github.com/docker github.com/ProtonMail github.com/cloudflare \
             github.com/spf13 github.com/godbus github.com/santhosh-tekuri github.com/samber \
             github.com/tkrajina github.com/containerd github.com/opencontainers github.com/leaanthony \
             github.com/labstack github.com/compose-spec github.com/go-viper github.com/sirupsen \
             go.opentelemetry.io golang.org/x/net golang.org/x/text \
             net crypto text html mime database encoding/gob; do
      lean+=("-gcflags=$p/...=-l")
    done
    CGO_ENABLED=1 go build -trimpath "${lean[@]}" -tags desktop,production,webkit2_41,libsqlite3 -ldflags "$ldflags" -o "$out" .
    ;;
  nogui)
    out=build/bin/berth-nogui
    say "building $out"
    CGO_ENABLED=0 go build -tags nogui -ldflags "$ldflags" -o "$out" .
    ;;
  *)
    echo "usage: scripts/build.sh [desktop|nogui]" >&2
    exit 2
    ;;
esac
size=$(stat -c %s "$out")
say "$out: $(numfmt --to=iec-i --suffix=B "$size") ($size bytes)"
