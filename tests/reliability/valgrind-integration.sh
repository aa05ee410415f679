#!/bin/bash
# valgrind-integration.sh BUILD_DIR [meson test args...]: runs the daemon's
# integration and reliability tests with every rolesd under valgrind
# (through harness.py's $ROLESD_WRAPPER), then reads every valgrind log:
# fails if any reports an error or a definite/indirect leak. Daemons a test
# kills with SIGKILL leave no leak summary; they are counted, not judged.
# scripts/run-tests runs it on the plain build (its meson log is
# meson-logs/valgrind.json, so the suite's own testlog stays intact):
#   tests/reliability/valgrind-integration.sh build
set -uo pipefail
build=${1:?usage: valgrind-integration.sh BUILD_DIR [meson test args]}
shift
logs=$(mktemp -d "${TMPDIR:-/tmp}/rolesd-valgrind-XXXXXX")
export ROLESD_WRAPPER="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no --log-file=$logs/vg.%p.log"
meson test -C "$build" --no-rebuild --logbase valgrind --suite integration --timeout-multiplier 5 --num-processes 2 "$@"
tests=$?
summaries=0 killed=0 bad=0
for f in "$logs"/vg.*.log; do
        [[ -e $f ]] || continue
        if grep -q "definitely lost: [1-9]\|indirectly lost: [1-9]\|ERROR SUMMARY: [1-9]\|Invalid \(read\|write\|free\)\|uninitialised" "$f"; then
                echo "valgrind: problems in $f:"; cat "$f"; bad=$((bad + 1))
        elif grep -q "HEAP SUMMARY\|All heap blocks were freed" "$f" || [[ ! -s $f ]]; then
                summaries=$((summaries + 1))
        else
                killed=$((killed + 1))
        fi
done
echo "valgrind: $summaries daemons exited with clean reports, $killed killed (no report), $bad with errors or leaks; logs in $logs"
[[ $tests -eq 0 && $bad -eq 0 ]]
