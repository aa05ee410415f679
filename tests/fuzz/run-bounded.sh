#!/bin/sh
# run-bounded.sh BINARY RUNS CORPUS_DIR...: the test suite's bounded run of
# one fuzz target. Works with both kinds of binary: a libFuzzer build
# writes new inputs to its first directory, so that is a throw-away one
# (the seed corpus in the source tree is never written); the standalone
# driver (fuzz-driver.c) just reads it, empty.
set -eu
bin=$1 runs=$2
shift 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rolesd-fuzz-run-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
exec_status=0
"$bin" -runs="$runs" -seed=1 -max_len=65536 -timeout=60 -rss_limit_mb=4096 "$tmp" "$@" || exec_status=$?
exit $exec_status
