#!/usr/bin/env bash
# version.sh: print Berth's version: the one `berth version` prints and the
# packages carry (scripts/build.sh, make cli and scripts/package.sh stamp it
# into the binary with -ldflags -X, see app/cli.Version).
#
#   1.2.3                   a commit tagged v1.2.3 (a tag v1.2.3-rc1 gives 1.2.3~rc1)
#   1.2.3+git5.1a2b3c4      5 commits after the tag v1.2.3, at commit 1a2b3c4
#   0.0.0+git319.24bf1c3    no v* tag yet: the number of commits stands in
#   ….dirty                 tracked files changed since that commit
#
# Each form is a valid Debian version (native, no revision) that grows with
# the history: a later commit or a later tag sorts higher, and a
# pre-release tag sorts below its release. (A shallow clone counts only the
# commits it has.) BERTH_VERSION, when set, is printed instead: a build
# outside a Git checkout names its version that way.
set -euo pipefail
cd "$(dirname "$0")/.."

valid='^[0-9][A-Za-z0-9.+~]*$'
if [ -n "${BERTH_VERSION:-}" ]; then
  [[ $BERTH_VERSION =~ $valid ]] || { echo "version: BERTH_VERSION=$BERTH_VERSION is not a version (a digit, then letters, digits, . + ~)" >&2; exit 2; }
  echo "$BERTH_VERSION"
  exit 0
fi
git rev-parse --git-dir >/dev/null 2>&1 || { echo "version: not a Git checkout; set BERTH_VERSION" >&2; exit 2; }

hash=$(git rev-parse --short=7 HEAD)
tag=
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null); then
  base=${tag#v}
  base=${base//-/\~}
  n=$(git rev-list --count "$tag..HEAD")
else
  base=0.0.0
  n=$(git rev-list --count HEAD)
fi
v=$base
if [ "$n" != 0 ]; then
  v="$base+git$n.$hash"
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  v="$v.dirty"
fi
[[ $v =~ $valid ]] || { echo "version: $v (tag: ${tag:-none}) is not a version" >&2; exit 2; }
echo "$v"
