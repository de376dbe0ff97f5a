#!/usr/bin/env bash
# package.sh: build Berth's release artefacts into build/dist/ (make package).
#
# V is the version scripts/version.sh prints (the one `berth version` says);
# ARCH is this machine's Debian architecture (amd64 here).
#
#   berth_V_ARCH.deb                the desktop app + CLI (scripts/build.sh) as
#                                   /usr/bin/berth, its desktop entry, its icon in
#                                   7 sizes, a manual page, copyright, changelog,
#                                   README and the CLI reference; Depends
#                                   computed by dpkg-shlibdeps from the binary
#   berth-V-linux-amd64.tar.gz      the CLI only (no cgo, no WebKit: go build
#   berth-V-linux-arm64.tar.gz      -tags nogui), with README.md, LICENSE when
#                                   there is one, and THIRD-PARTY-LICENSES.txt
#   berth-V-darwin-amd64            the same CLI for macOS and Windows, bare
#   berth-V-darwin-arm64
#   berth-V-windows-amd64.exe
#   berth-V-third-party-licenses.txt  the licenses of the Go modules, the Go
#                                   runtime and the npm packages built into them
#   SHA256SUMS                      over all of the above
#
# The binaries embed the frontend (frontend/dist), built once by
# scripts/build.sh. Everything is stamped with the last commit's time
# (SOURCE_DATE_EPOCH, unless set): file times in the .deb and the
# tarballs, the changelog's date; files are sorted and owned by root, and
# gzip stores no name or time, so the same commit gives the same bytes
# (the Go builds are -trimpath).
#
# Needs dpkg-dev (dpkg-shlibdeps), desktop-file-utils, imagemagick and
# help2man (scripts/deps.sh package installs them), plus what scripts/build.sh needs.
#
# Settings (environment):
#   BERTH_VERSION      the version, instead of scripts/version.sh's
#   BERTH_MAINTAINER   the package's Maintainer, "Name <address>" (default:
#                      the author of the last commit)
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."

say() { echo "package: $*" >&2; }
die() { say "$*"; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps desktop-file-validate convert help2man gzip sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh package installs it)"
done

version=$(scripts/version.sh)
export BERTH_VERSION=$version # scripts/build.sh stamps the same one
arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
maintainer=${BERTH_MAINTAINER:-$(git log -1 --format='%an <%ae>')}
ldflags="-s -w -X github.com/berthdev/berth/app/cli.Version=$version"
dist=build/dist
say "Berth $version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$dist"
mkdir -p "$dist"

# stamp gives every file under a folder the commit's time.
stamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# The binaries.
start=$SECONDS
scripts/build.sh desktop
desktop=build/bin/berth
[ "$("$desktop" version)" = "berth $version" ] || die "$desktop says $("$desktop" version), not berth $version"
cli() { # cli GOOS GOARCH OUT: the CLI-only binary
  say "building the CLI for $1/$2"
  CGO_ENABLED=0 GOOS=$1 GOARCH=$2 go build -tags nogui -trimpath -ldflags "$ldflags" -o "$3" .
}
mkdir -p "$work/cli"
cli linux amd64 "$work/cli/linux-amd64"
cli linux arm64 "$work/cli/linux-arm64"
cli darwin amd64 "$dist/berth-$version-darwin-amd64"
cli darwin arm64 "$dist/berth-$version-darwin-arm64"
cli windows amd64 "$dist/berth-$version-windows-amd64.exe"
say "binaries built in $((SECONDS - start)) s"

# licenses BINARY...: the licenses of what is built into the binaries: the
# Go runtime and standard library, each Go module (go version -m), and the
# npm packages whose code the frontend bundle holds (its source map, from a
# build of the same sources beside the embedded one). A text seen before is
# named, not repeated. With common_licenses=1 (the .deb's copyright file)
# the terms of the Apache License 2.0 are not copied either: Debian keeps
# them in /usr/share/common-licenses/Apache-2.0 (base-files).
npm_pkgs=
common_licenses=0
licenses() {
  if [ -z "$npm_pkgs" ]; then
    (cd frontend && npx vite build --sourcemap --outDir "$work/web" --emptyOutDir --logLevel error >&2)
    npm_pkgs=$(node -e 'for (const f of process.argv.slice(1))
      for (const s of JSON.parse(require("fs").readFileSync(f, "utf8")).sources) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s)
        if (m) console.log(m[1])
      }' "$work"/web/assets/*.map | sort -u)
    [ -n "$npm_pkgs" ] || die "the frontend's source map names no npm package"
  fi
  local go_version mods m dir f sum modcache
  modcache=$(go env GOMODCACHE)
  go_version=$(go version "$1" | sed 's/.*: //')
  [ "$go_version" = "$(go env GOVERSION)" ] || die "$1 was built by $go_version, not this $(go env GOVERSION)"
  # go version -m: "dep PATH VERSION SUM", then "=> PATH VERSION SUM" when replaced.
  mods=$(for b in "$@"; do go version -m "$b"; done |
    awk -F'\t' '$2 == "dep" || $2 == "=>" { if ($2 == "=>") delete seen[last]; last = $3 "@" $4; seen[last] = 1 }
                END { for (m in seen) print m }' | sort)
  declare -A texts=()
  emit() { # emit NAME FILE...
    local name=$1 f sum
    shift
    for f in "$@"; do
      sum=$(sha256sum <"$f" | cut -c1-64)
      printf '\n==== %s: %s\n\n' "$name" "$(basename "$f")"
      if [ -n "${texts[$sum]:-}" ]; then
        printf 'The same text as %s.\n' "${texts[$sum]}"
      else
        texts[$sum]="$name ($(basename "$f"))"
        if [ "$common_licenses" = 1 ] && grep -q 'Version 2.0, January 2004' "$f" && grep -q '9\. Accepting Warranty or Additional Liability' "$f"; then
          # The terms run from the title to the end of section 9 (and an
          # END OF TERMS line); what comes before or after is kept.
          awk 'state == 0 && /^[[:space:]]*Apache License[[:space:]]*$/ { state = 1; print "The Apache License, Version 2.0: /usr/share/common-licenses/Apache-2.0"; next }
               state == 1 { if (/9\. Accepting Warranty or Additional Liability/) state = 2; next }
               state == 2 { if (/^[[:space:]]*$/) state = 3; next }
               state == 3 && /END OF TERMS AND CONDITIONS/ { state = 4; next }
               { print }' "$f"
        else
          cat "$f"
        fi
      fi
    done
  }
  echo "Berth is built from its own code and from the components below, each"
  echo "under its own license, whose text follows its name."
  emit "Go $go_version (runtime and standard library)" "$(go env GOROOT)/LICENSE"
  for m in $mods; do
    # The module cache's folder: upper-case letters are !lower-case there.
    # shellcheck disable=SC2001 # ${m//} cannot lower-case what it matched
    dir=$modcache/$(sed 's/[A-Z]/!\L&/g' <<<"$m")
    [ -d "$dir" ] || die "module $m is not in Go's module cache ($dir)"
    mapfile -t f < <(find "$dir" -maxdepth 1 -type f \( -iname 'licen[cs]e*' -o -iname 'copying*' -o -iname 'notice*' \) | sort)
    [ ${#f[@]} -gt 0 ] || die "module $m has no license file"
    emit "Go module $m" "${f[@]}"
  done
  for m in $npm_pkgs; do
    dir=frontend/node_modules/$m
    mapfile -t f < <(find "$dir" -maxdepth 1 -type f \( -iname 'licen[cs]e*' -o -iname 'copying*' -o -iname 'notice*' \) | sort)
    [ ${#f[@]} -gt 0 ] || die "npm package $m has no license file"
    emit "npm package $m@$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$dir/package.json") (in the embedded frontend)" "${f[@]}"
  done
}

# The CLI tarballs.
for target in linux-amd64 linux-arm64; do
  name=berth-$version-$target
  mkdir -p "$work/tar/$name"
  install -m 0755 "$work/cli/$target" "$work/tar/$name/berth"
  install -m 0644 README.md "$work/tar/$name/README.md"
  [ ! -f LICENSE ] || install -m 0644 LICENSE "$work/tar/$name/LICENSE"
  licenses "$work/cli/$target" >"$work/tar/$name/THIRD-PARTY-LICENSES.txt"
  chmod 0644 "$work/tar/$name/THIRD-PARTY-LICENSES.txt"
  chmod 0755 "$work/tar/$name"
  stamp "$work/tar/$name"
  tar -C "$work/tar" --sort=name --owner=0 --group=0 --numeric-owner --format=gnu -c "$name" |
    gzip -9n >"$dist/$name.tar.gz"
done
licenses "$dist/berth-$version-darwin-amd64" "$dist/berth-$version-darwin-arm64" "$dist/berth-$version-windows-amd64.exe" \
  >"$dist/berth-$version-third-party-licenses.txt"

# The Debian package.
say "building berth_${version}_$arch.deb"
root=$work/deb/debian/berth # dpkg-shlibdeps wants the binary in debian/PACKAGE/
doc=$root/usr/share/doc/berth
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/applications" "$doc"
install -m 0755 "$desktop" "$root/usr/bin/berth"
desktop-file-validate build/linux/berth.desktop
install -m 0644 build/linux/berth.desktop "$root/usr/share/applications/berth.desktop"
for size in 16 32 48 64 128 256 512; do
  dir=$root/usr/share/icons/hicolor/${size}x$size/apps
  install -d -m 0755 "$dir"
  convert build/appicon.png -resize "${size}x$size" -depth 8 -strip -define png:exclude-chunks=date,time "PNG32:$dir/berth.png"
  chmod 0644 "$dir/berth.png"
done

# copyright: Berth's terms, then the licenses of what its binary holds.
{
  echo "Berth"
  echo
  echo "Copyright: the Berth authors (see the Git history of Berth)."
  echo
  if [ -f LICENSE ]; then
    echo "Berth is distributed under these terms:"
    echo
    cat LICENSE
  else
    echo "Berth's source has no license file yet: no license to Berth's own code"
    echo "is granted beyond what the authors grant elsewhere."
  fi
  echo
  common_licenses=1 licenses "$desktop"
} >"$doc/copyright"
chmod 0644 "$doc/copyright"

# changelog: this build, with the commits since the last version tag.
{
  echo "berth ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse HEAD)."
  if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null); then
    range=$tag..HEAD
    echo "  * The $(git rev-list --count --no-merges "$range") commits since $tag:"
  else
    range=HEAD
    echo "  * The commits so far:"
  fi
  git log --no-merges --format=%s "$range" | while IFS= read -r subject; do
    fmt -w 74 <<<"$subject" | sed '1s/^/    - /; 2,$s/^/      /'
  done
  echo
  echo " -- $maintainer  $(date -u -d "@$SOURCE_DATE_EPOCH" -R)"
} | gzip -9n >"$doc/changelog.gz"
gzip -9n <README.md >"$doc/README.md.gz"
gzip -9n <docs/cli.md >"$doc/cli.md.gz"
chmod 0644 "$doc/changelog.gz" "$doc/README.md.gz" "$doc/cli.md.gz"

# berth(1): the command line's --help, through help2man.
cat >"$work/berth.h2m" <<'EOF'
[SEE ALSO]
.B berth
.I COMMAND
.B \-\-help
for a command's arguments and flags; the command line reference in
.IR /usr/share/doc/berth/cli.md.gz ;
the README in
.IR /usr/share/doc/berth/README.md.gz .
EOF
install -d -m 0755 "$root/usr/share/man/man1"
help2man --no-info --no-discard-stderr --include="$work/berth.h2m" --version-string="$version" \
  --name="environments from Git, running on Docker" "$desktop" | gzip -9n >"$root/usr/share/man/man1/berth.1.gz"
chmod 0644 "$root/usr/share/man/man1/berth.1.gz"

# control: Depends from the libraries the binary links (dpkg-shlibdeps reads
# its NEEDED entries and the installed packages' symbols files).
mkdir -p "$work/deb/debian"
printf 'Source: berth\n\nPackage: berth\nArchitecture: %s\n' "$arch" >"$work/deb/debian/control"
depends=$(cd "$work/deb" && dpkg-shlibdeps -O debian/berth/usr/bin/berth | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependency"
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: berth
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: docker.io | docker-ce, xdg-utils
Suggests: git, openssh-client, gnome-keyring
Section: devel
Priority: optional
Description: environments from Git, running on Docker
 Berth turns a Git repository of environment definitions (a small manifest
 plus ordinary Compose files) into running Docker environments, locally or
 on a remote Docker engine, each with its own clone of its databases. It
 shows what runs, deploys or rolls back any environment to any commit,
 records every change, and watches for drift from what is committed.
 .
 This package holds the desktop app and the command line in one binary:
 berth without arguments opens the app; berth --help lists the commands.
EOF
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
stamp "$root"
dpkg-deb --root-owner-group -Zxz --build "$root" "$dist/berth_${version}_$arch.deb" >/dev/null

(cd "$dist" && sha256sum -- * >"$work/SHA256SUMS" && mv "$work/SHA256SUMS" SHA256SUMS)
say "done in $((SECONDS - start)) s; $dist:"
(cd "$dist" && for f in *; do printf '  %-64s %s\n' "$f" "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$f")")"; done) >&2
say "Depends: $depends"
