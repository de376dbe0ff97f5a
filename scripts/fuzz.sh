#!/usr/bin/env bash
# fuzz.sh: run every Go fuzz target (func FuzzXxx in a _test.go file) with
# `go test -fuzz` for FUZZTIME each (default 30s), one after another, and
# print how many inputs each tried.
#
#   scripts/fuzz.sh                    every target
#   FUZZTIME=5m scripts/fuzz.sh        longer
#   FUZZ_PARALLEL=1 scripts/fuzz.sh    one fuzzing worker (default: one per CPU)
#   scripts/fuzz.sh ./internal/spec    the targets of some packages
#
# An input that fails a target is written by go test to the package's
# testdata/fuzz/FuzzXxx/ folder: commit it with the fix, and `go test`
# (make test) runs it from then on as a regression case. Inputs that only
# widened coverage stay in go's cache ($(go env GOCACHE)/fuzz).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

FUZZTIME=${FUZZTIME:-30s}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi

summary=()
failed=()
for pkg in "${pkgs[@]}"; do
	mapfile -t targets < <(go test -tags nogui -list '^Fuzz' "$pkg" | grep '^Fuzz')
	for t in "${targets[@]}"; do
		echo "== $pkg $t ($FUZZTIME)"
		log=$(mktemp)
		# No `|| true` here: under pipefail it would run after a failing
		# go test and leave PIPESTATUS holding its own 0.
		go test -tags nogui -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg" 2>&1 | tee "$log" | grep -v '^fuzz: elapsed'
		status=${PIPESTATUS[0]}
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
		rm -f "$log"
		summary+=("$(printf '%-26s %-22s %12s execs' "$pkg" "$t" "${execs:-?}")")
		if [ "$status" -ne 0 ]; then failed+=("$pkg $t"); fi
	done
done

echo
echo "fuzzing summary (FUZZTIME=$FUZZTIME each):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed (the failing inputs are under each package's testdata/fuzz/):"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
