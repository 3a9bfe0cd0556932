#!/usr/bin/env bash
# Runs a test target SOAK times in a row (default: make test-e2e, 3 times, on each engine
# of ENGINES), every run to its end even after a failure, so that a test that fails once
# in a few runs shows up before a user or CI meets it. Each run's output is kept in
# SOAK_LOGS; the summary gives each run's wall time and the tests that failed in it.
#   hack/test-soak.sh           (make test-soak [SOAK=N] [SOAK_TARGET=test])
# A test that fails here is fixed, never retried: see the README's Tests section.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

runs=${SOAK:-3}
target=${SOAK_TARGET:-test-e2e}
logs=${SOAK_LOGS:-/var/tmp/magents-soak/$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$logs"

summary=()
rc=0
start=$(date +%s)
for i in $(seq "$runs"); do
	t=$(date +%s)
	log "soak run $i of $runs: make $target (output in $logs/run-$i.log)"
	run_rc=0
	make --no-print-directory "$target" >"$logs/run-$i.log" 2>&1 || run_rc=$?
	# go test's own failure lines, subtests included, and the stages' verdicts.
	failed=$(grep -E '^\s*--- FAIL: ' "$logs/run-$i.log" | sed -E 's/^\s*--- FAIL: ([^ ]+).*/\1/' | sort -u | tr '\n' ' ' || true)
	stages=$(grep -oE 'stage [a-z0-9-]+(\[[a-z]+\])?: [^:]*[0-9]+s' "$logs/run-$i.log" | grep -v ': start' | tr '\n' ';' || true)
	if [ $run_rc -eq 0 ]; then
		line="run $i: pass in $(($(date +%s) - t))s"
	else
		rc=1
		line="run $i: FAIL (exit $run_rc) in $(($(date +%s) - t))s; failed: ${failed:-see the log}"
	fi
	summary+=("$line")
	log "$line"
	log "  stages: ${stages:-none reported}"
done
log "stage test-soak: $runs run(s) of make $target in $(($(date +%s) - start))s"
for line in "${summary[@]}"; do log "  $line"; done
exit $rc
