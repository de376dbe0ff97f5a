#!/usr/bin/env bash
# test-package.sh: build the release artefacts (make package) and install
# the Debian package for real, in a fresh Debian 12 container.
#
#   scripts/test-package.sh        (make test-package; make test runs it beside the other suites)
#
# The build runs in a private copy of this checkout (a clone of HEAD with
# the working tree's changes laid over it), so that it can run while other
# suites use build/bin/berth and frontend/dist; the artefacts are then
# copied to build/dist/. Checks, each printed as it passes:
#   - SHA256SUMS matches the artefacts; lintian finds no error in the .deb
#     (its warnings are printed);
#   - the CLI binaries for Linux arm64, macOS and Windows are for that
#     system, without cgo, and carry the version;
#   - in a container of the local debian:bookworm-slim image: apt-get update,
#     then apt-get install --no-install-recommends ./berth_V_ARCH.deb
#     installs it with its dependencies from the Debian mirror;
#   - dpkg -s says version V; berth version says "berth V";
#   - dpkg -L lists the binary, the desktop entry, the icons and the manual;
#   - ldd /usr/bin/berth finds every library (Depends is complete);
#   - berth ls, on the host's Docker engine (its socket mounted) and a copy
#     of environments/, lists the shop definition and the engine;
#   - the CLI of the linux-amd64 tarball says "berth V" there too.
# The container and the temporary folders are removed on every exit.
#
# Needs a Docker engine on a unix socket (scripts/engine.sh), the image
# debian:bookworm-slim (scripts/images.sh) and what make package needs
# (scripts/deps.sh package, which make package runs).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "test-package: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
ok() { say "ok: $*"; }
# shellcheck source=scripts/retry.sh
. scripts/retry.sh

image=debian:bookworm-slim
command -v lintian >/dev/null || fail "lintian is missing (scripts/deps.sh package installs it)"
docker image inspect "$image" >/dev/null 2>&1 || fail "no image $image (scripts/images.sh builds it)"
host=${DOCKER_HOST:-$(docker context inspect --format '{{.Endpoints.docker.Host}}')}
case "$host" in
  unix://*) sock=${host#unix://} ;;
  *) fail "the engine is at $host; this test mounts the engine's unix socket into a container" ;;
esac

tmp=$(mktemp -d)
container=berth-test-package-$$
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The private copy: HEAD, plus what the working tree adds, changes or
# deletes (ignored files are not copied; node_modules is shared).
src=$tmp/src
git clone -q --shared --no-checkout "$repo" "$src"
git -C "$src" checkout -q --detach "$(git rev-parse HEAD)"
{ git diff -z --name-only --diff-filter=d HEAD; git ls-files -z --others --exclude-standard; } |
  tar --null -T - -c | tar -C "$src" -x
git diff -z --name-only --diff-filter=D HEAD | (cd "$src" && xargs -0 -r rm -f --)
ln -s "$repo/frontend/node_modules" "$src/frontend/node_modules"

start=$SECONDS
say "make package (in a copy of this checkout)"
make -C "$src" --no-print-directory package
build_time=$((SECONDS - start))
version=$("$src/scripts/version.sh")
[ "$version" = "$(scripts/version.sh)" ] || fail "the copy's version $version is not this checkout's $(scripts/version.sh)"
arch=$(dpkg --print-architecture)
rm -rf build/dist
mkdir -p build
cp -a "$src/build/dist" build/dist
dist=build/dist
deb=berth_${version}_$arch.deb
ok "make package built build/dist/ in $build_time s"

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
ok "SHA256SUMS matches $(wc -l <"$dist/SHA256SUMS") artefacts"

if ! lintian_out=$(lintian --fail-on error "$dist/$deb" 2>&1); then
  printf '%s\n' "$lintian_out" >&2
  fail "lintian found errors in $deb"
fi
tags=$(grep -E '^[EWIPX]: ' <<<"$lintian_out" || true)
ok "lintian: no error in $deb${tags:+; what it says:}"
if [ -n "$tags" ]; then mapfile -t lines <<<"$tags"; printf '    %s\n' "${lines[@]}" >&2; fi

# The CLI binaries for other systems: their build information says for
# which system and without cgo; the version stamped in is in their data
# (-trimpath leaves -ldflags out of the build information).
buildinfo() { # buildinfo FILE GOOS GOARCH [NAME]
  local info
  info=$(go version -m "$1")
  if ! grep -qx $'\tbuild\tGOOS='"$2" <<<"$info" || ! grep -qx $'\tbuild\tGOARCH='"$3" <<<"$info" ||
    ! grep -qx $'\tbuild\tCGO_ENABLED=0' <<<"$info" || ! LC_ALL=C grep -qaF -- "$version" "$1"; then
    fail "$1 is not a $2/$3 CLI without cgo for $version: $(grep $'^\tbuild' <<<"$info")"
  fi
  ok "${4:-$(basename "$1")} is the CLI for $2/$3 (CGO_ENABLED=0, version $version)"
}
buildinfo "$dist/berth-$version-darwin-amd64" darwin amd64
buildinfo "$dist/berth-$version-darwin-arm64" darwin arm64
buildinfo "$dist/berth-$version-windows-amd64.exe" windows amd64
for target in linux-amd64 linux-arm64; do
  mkdir -p "$tmp/$target"
  tar -C "$tmp/$target" -xzf "$dist/berth-$version-$target.tar.gz"
  for f in berth README.md THIRD-PARTY-LICENSES.txt; do
    [ -f "$tmp/$target/berth-$version-$target/$f" ] || fail "berth-$version-$target.tar.gz has no $f"
  done
  buildinfo "$tmp/$target/berth-$version-$target/berth" linux "${target#linux-}" "berth of berth-$version-$target.tar.gz"
done

# The install, in a fresh container with the engine's socket.
say "installing $deb in a $image container"
docker run -d --init --name "$container" -v "$sock:/var/run/docker.sock" "$image" sleep infinity >/dev/null
inside() { docker exec -e DEBIAN_FRONTEND=noninteractive "$container" "$@"; }
docker cp -q "$dist/$deb" "$container:/tmp/$deb"
docker cp -q "$tmp/linux-amd64/berth-$version-linux-amd64" "$container:/opt/berth-cli"
docker cp -q environments "$container:/defs"
start=$SECONDS
retry inside apt-get update -qq
retry inside apt-get install -y -qq --no-install-recommends "/tmp/$deb" >"$tmp/apt.log" 2>&1 ||
  { tail -n 30 "$tmp/apt.log" >&2; fail "apt-get install $deb"; }
installed=$(inside dpkg-query -W -f="\${db:Status-Abbrev}" berth)
[ "$installed" = "ii " ] || fail "dpkg says berth is $installed, not installed"
ok "apt-get install --no-install-recommends ./$deb took $((SECONDS - start)) s ($(inside dpkg-query -W -f="\${Package}\n" | wc -l) packages in the container)"

got=$(inside dpkg-query -W -f="\${Version}" berth)
[ "$got" = "$version" ] || fail "dpkg -s berth: version $got, want $version"
ok "dpkg -s berth: Version $got"
got=$(inside berth version)
[ "$got" = "berth $version" ] || fail "berth version printed '$got', want 'berth $version'"
ok "berth version: $got"

files=$(inside dpkg -L berth)
for f in /usr/bin/berth /usr/share/applications/berth.desktop /usr/share/icons/hicolor/256x256/apps/berth.png \
  /usr/share/man/man1/berth.1.gz /usr/share/doc/berth/copyright /usr/share/doc/berth/changelog.gz; do
  grep -qx "$f" <<<"$files" || fail "dpkg -L berth does not list $f"
done
ok "dpkg -L berth lists the binary, the desktop entry, $(grep -c '/apps/berth.png$' <<<"$files") icons, the manual page, copyright and changelog"

libs=$(inside ldd /usr/bin/berth)
if grep -q 'not found' <<<"$libs"; then fail "libraries of /usr/bin/berth not found: $(grep 'not found' <<<"$libs")"; fi
ok "ldd /usr/bin/berth: all $(grep -c '=>' <<<"$libs") libraries found"

out=$(docker exec -e BERTH_DEFINITIONS=/defs -e BERTH_STATE_DIR=/tmp/berth-state -e HOME=/root \
  -e DOCKER_HOST=unix:///var/run/docker.sock "$container" berth ls 2>&1) || { printf '%s\n' "$out" >&2; fail "berth ls failed"; }
grep -qE '^shop +' <<<"$out" || { printf '%s\n' "$out" >&2; fail "berth ls does not list the shop definition"; }
grep -qE '^engine: unix:///var/run/docker.sock \(Docker ' <<<"$out" || { printf '%s\n' "$out" >&2; fail "berth ls did not reach the engine"; }
ok "berth ls (installed) lists shop and $(grep '^engine:' <<<"$out")"

got=$(inside /opt/berth-cli/berth version)
[ "$got" = "berth $version" ] || fail "the tarball's berth version printed '$got', want 'berth $version'"
ok "the linux-amd64 tarball's CLI in the container: $got"

say "passed; the artefacts in $dist:"
(cd "$dist" && for f in *; do printf '    %-64s %s\n' "$f" "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$f")")"; done) >&2
