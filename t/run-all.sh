#!/usr/bin/env bash
# t/run-all.sh - build hanami and run every test suite on a throwaway cluster.
#
# Usage:  t/run-all.sh
#
# Steps (each in a fresh temporary copy of this tree, never in the checkout):
#   deps      t/setup-deps.sh (skip with HANAMI_SKIP_DEPS=1)
#   build     make, then make install (sudo when not root)
#   lint      t/layering.sh (the layering rules of docs/architecture.md) and
#             a build without compiler warnings: one result per rule
#   unit      the engine's C unit tests and the OpenCL parity tests
#             (`make unit`, an OpenCL device required), one result per test
#   valgrind  the same binary under valgrind (leaks, invalid accesses): 1 result
#   fuzz      libFuzzer on the binary image validators (`make fuzz`, clang
#             with AddressSanitizer and UndefinedBehaviorSanitizer): 1 result
#   regress   on a fresh cluster with shared_preload_libraries = 'hanami':
#             examples/datasets.py, `make installcheck-data`, then with the
#             data sets moved away `make installcheck` (TAP off); one result
#             per test file (pg_regress and isolation) over both groups
#   tap       t/*.pl with prove; one result per TAP assertion
#   docker    t/docker-image.sh: docker/Dockerfile built on a local stand-in
#             for the official image (buildah), its server started and
#             checked; one result per check
#
# Prints one line per suite, then exactly one line "N passed, N failed" summed
# over all suites. Exits non-zero if anything failed; a step or suite that
# could not run or crashed counts as a failure, never as zero tests.
#
# As root the build tree, the server and the TAP tests belong to the
# `postgres` OS user. As a normal user everything runs as that user, and
# sudo is used only for apt and `make install`.
#
# Environment:
#   HANAMI_SKIP_DEPS=1   do not run t/setup-deps.sh
#   HANAMI_KEEP=1        keep the temporary directory even when all passed
#   FUZZ_SECONDS=N       how long the fuzz step fuzzes (default 60)
#   HANAMI_DOCKER_CACHE, HANAMI_DOCKER_PORT   see t/docker-image.sh
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Output of the suites' tools must not depend on the caller's language.
export LC_MESSAGES=C

MAKE_ARGS=(PG_CONFIG="$PG_CONFIG")
MAX_DIFF_LINES=200 # regression.diffs lines shown on failure

TOTAL_PASS=0
TOTAL_FAIL=0

# record NAME PASSED FAILED [NOTE]: print a suite's line, add to the totals.
record() {
    local name=$1 pass=$2 fail=$3 note=${4:-}
    TOTAL_PASS=$((TOTAL_PASS + pass))
    TOTAL_FAIL=$((TOTAL_FAIL + fail))
    printf '  %-9s %4d passed, %d failed%s\n' "$name" "$pass" "$fail" "${note:+  ($note)}"
}

# show_log FILE [LINES]: print the end of a log, indented, on failure.
show_log() {
    local file=$1 lines=${2:-40}
    echo "  --- last $lines lines of $file:"
    tail -n "$lines" "$file" 2>/dev/null | sed 's/^/  | /' || true
}

# elapsed START: seconds since START (a $SECONDS value), for the suite lines.
elapsed() { echo "$((SECONDS - $1)) s"; }

# ------------------------------------------------------------------ deps
if [[ ${HANAMI_SKIP_DEPS:-} != 1 ]]; then
    "$HANAMI_ROOT/t/setup-deps.sh"
fi
for tool in make "$PG_CONFIG" "$PYTHON" valgrind prove; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run t/setup-deps.sh"
done

# ----------------------------------------------------------- work area
# WORK/build   copy of the tree: built, tested, holds results/ and tmp_check/
# WORK/logs    one log per step
# WORK/pg      the throwaway cluster (short path: the socket lives in it)
WORK=$(mktemp -d /tmp/hanami-test.XXXXXX)
chmod 755 "$WORK"
BUILD=$WORK/build
LOGS=$WORK/logs
CLUSTER=$WORK/pg
CLEANED=0

# cleanup: stop the server, then remove WORK if all passed (else keep it).
# Runs once: explicitly before the final line, or from the EXIT trap when the
# script is interrupted or dies on the way.
cleanup() {
    ((CLEANED)) && return 0
    CLEANED=1
    cluster_stop "$CLUSTER" || true
    if ((TOTAL_FAIL == 0)) && [[ ${HANAMI_KEEP:-} != 1 && ${FINISHED:-0} == 1 ]]; then
        rm -rf "$WORK"
    else
        echo "logs kept in $LOGS (build tree: $BUILD)"
    fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

mkdir -p "$LOGS"
copy_tree "$HANAMI_ROOT" "$BUILD"
if is_root; then
    # The server reads the test data, and TAP tests write tmp_check/, as postgres.
    chown -R postgres:postgres "$WORK"
fi
echo "hanami tests in $WORK"

# ----------------------------------------------------------------- build
t0=$SECONDS
BUILD_OK=0
if to_log "$LOGS/build.log" as_pg_in "$BUILD" make -j"$(nproc)" "${MAKE_ARGS[@]}"; then
    if to_log "$LOGS/build.log" as_root make -C "$BUILD" "${MAKE_ARGS[@]}" install; then
        BUILD_OK=1
        echo "  build     ok ($(elapsed $t0))"
    else
        record build 0 1 "make install failed, see $LOGS/build.log"
        show_log "$LOGS/build.log" 15
    fi
else
    record build 0 1 "make failed, see $LOGS/build.log"
    # Compiler lines are long: show the errors themselves first.
    grep -E ': (fatal )?error:|undefined reference|\*\*\*' "$LOGS/build.log" | head -n 30 \
        | sed 's/^/  | /' || true
fi

# ------------------------------------------------------------------ lint
t0=$SECONDS
lint_pass=0
lint_fail=0
if "$HANAMI_ROOT/t/layering.sh" "$BUILD" >"$LOGS/lint.log" 2>&1; then :; fi
lint_pass=$(grep -c '^ok ' "$LOGS/lint.log" || true)
lint_fail=$(grep -c '^not ok ' "$LOGS/lint.log" || true)
((lint_pass + lint_fail > 0)) || lint_fail=1 # the script did not run
if ((BUILD_OK)) && ! grep -q 'warning:' "$LOGS/build.log"; then
    lint_pass=$((lint_pass + 1))
else
    lint_fail=$((lint_fail + 1))
    grep 'warning:' "$LOGS/build.log" | head -n 20 | sed 's/^/  | /' || true
fi
record lint "$lint_pass" "$lint_fail" "$(elapsed $t0)"
((lint_fail == 0)) || show_log "$LOGS/lint.log" 30

# ------------------------------------------------------------------ unit
# `make unit` runs two programs, the engine's tests (test_core) and the
# OpenCL parity tests (test_opencl), both even when the first fails. Each
# prints "ok N - name" / "not ok N - name" and ends with "N passed, N
# failed". Their exit status and summary lines must agree with what we
# count: a crash half-way shows up as a missing summary line.
UNIT_PROGRAMS=2
t0=$SECONDS
UNIT_BIN=$BUILD/src/core/tests/test_core
set +e
# The OpenCL parity tests run on PoCL (installed by t/setup-deps.sh) with a
# writable kernel cache. A missing device fails them: the caller's
# HANAMI_OPENCL_OPTIONAL (the opt-out for machines without OpenCL) does not
# reach them here.
as_pg_in "$BUILD" mkdir -p "$WORK/pocl-unit"
to_log "$LOGS/unit.log" as_pg_in "$BUILD" env -u HANAMI_OPENCL_OPTIONAL \
    POCL_CACHE_DIR="$WORK/pocl-unit" make "${MAKE_ARGS[@]}" unit
rc=$?
set -e
pass=$(grep -cE '^ok [0-9]+' "$LOGS/unit.log" || true)
fail=$(grep -cE '^not ok [0-9]+' "$LOGS/unit.log" || true)
summaries=$(grep -cE '^[0-9]+ passed, [0-9]+ failed$' "$LOGS/unit.log" || true)
# what the summary lines say, summed: "P F"
read -r said_pass said_fail < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' \
    "$LOGS/unit.log" | awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
note=$(elapsed $t0)
if ((summaries != UNIT_PROGRAMS)); then
    fail=$((fail + 1))
    note="$summaries of $UNIT_PROGRAMS summary lines (crashed or did not build?)"
elif ((said_pass != pass || said_fail != fail)); then
    fail=$((fail + 1))
    note="the summary lines say $said_pass passed, $said_fail failed"
elif ((rc != 0 && fail == 0)); then
    fail=1; note="exit status $rc"
elif ((pass + fail == 0)); then
    fail=1; note="no tests ran"
fi
record unit "$pass" "$fail" "$note"
if ((fail)); then
    grep -E '^not ok' "$LOGS/unit.log" | head -n 50 | sed 's/^/  | /' || true
    show_log "$LOGS/unit.log" 20
fi

# -------------------------------------------------------------- valgrind
t0=$SECONDS
if [[ -x $UNIT_BIN ]]; then
    if to_log "$LOGS/valgrind.log" as_pg_in "$BUILD" valgrind --error-exitcode=1 \
        --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$UNIT_BIN"; then
        record valgrind 1 0 "$(elapsed $t0)"
    else
        record valgrind 0 1 "errors or failed tests, see $LOGS/valgrind.log"
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|.*definitely lost|Process terminating|ERROR SUMMARY)|^not ok' \
            "$LOGS/valgrind.log" | head -n 40 | sed 's/^/  | /' || true
    fi
else
    record valgrind 0 1 "no unit test binary to run"
fi

# ------------------------------------------------------------------ fuzz
# `make fuzz` builds the fuzz target with clang and runs it for FUZZ_SECONDS
# on a copy of the seed corpus. libFuzzer ends a clean run with "Done N
# runs"; a crash, leak, sanitizer report, timeout or out-of-memory stops it
# with a non-zero status after saving the input that did it ("Test unit
# written to FILE"), which replays with `src/core/fuzz/build/fuzz_image FILE`.
t0=$SECONDS
fuzz_args=()
[[ -n ${FUZZ_SECONDS:-} ]] && fuzz_args+=(FUZZ_SECONDS="$FUZZ_SECONDS")
set +e
to_log "$LOGS/fuzz.log" as_pg_in "$BUILD" make -j"$(nproc)" "${MAKE_ARGS[@]}" \
    "${fuzz_args[@]}" fuzz
rc=$?
set -e
if ((rc == 0)) && grep -qE '^Done [0-9]+ runs' "$LOGS/fuzz.log"; then
    record fuzz 1 0 "$(elapsed $t0)"
else
    reproducer=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$LOGS/fuzz.log" | tail -n 1)
    if [[ -n $reproducer ]]; then
        note="reproducer: $reproducer"
    elif ! grep -qE '^INFO: Seed: ' "$LOGS/fuzz.log"; then
        note="the fuzz target did not build or start, see $LOGS/fuzz.log"
    else
        note="exit status $rc, see $LOGS/fuzz.log"
    fi
    record fuzz 0 1 "$note"
    # The report's first lines: the sanitizer's, libFuzzer's or the
    # target's own; else the compiler's errors; else the log's end.
    first=$(grep -m 1 -nE '^==[0-9]+== ?ERROR|runtime error:|^fuzz_image: |^==[0-9]+== ?ERROR: libFuzzer|^ALARM: working on the last Unit' \
        "$LOGS/fuzz.log" | cut -d: -f1 || true)
    if [[ -n $first ]]; then
        echo "  --- $LOGS/fuzz.log from line $first:"
        tail -n +"$first" "$LOGS/fuzz.log" | head -n 25 | sed 's/^/  | /'
    elif grep -qE ': (fatal )?error:|\*\*\*' "$LOGS/fuzz.log"; then
        grep -E ': (fatal )?error:|undefined reference|\*\*\*' "$LOGS/fuzz.log" \
            | head -n 20 | sed 's/^/  | /'
    else
        show_log "$LOGS/fuzz.log" 20
    fi
fi

# --------------------------------------------------------------- regress
# Two groups on one fresh cluster (see the Makefile). The data sets are
# written and `make installcheck-data` runs the regress tests that load
# them; then data/ is moved away and `make installcheck` (TAP off: it runs
# separately below) runs the regress tests that need no data sets and the
# isolation specs, so one there that reads data/ fails. One result per test
# file, both groups summed on the regress line.
#
# regress_group TARGET LOG: run `make TARGET` against the cluster and add
# its results to REG_PASS and REG_FAIL, and why it failed to REG_NOTES.
REG_PASS=0 REG_FAIL=0 REG_NOTES=()
regress_group() {
    local target=$1 log=$2 rc started pass fail
    set +e
    to_log "$log" as_pg_in "$BUILD" \
        env PGHOST="$CLUSTER/socket" PGPORT="$PORT" PGUSER="$(pg_user)" \
        make "${MAKE_ARGS[@]}" "$target" TAP_TESTS=
    rc=$?
    set -e
    # pg_regress (15): "test name   ... ok   12 ms", "     name ... FAILED".
    # A test that started but has no result (a missing expected file
    # stops pg_regress there) is a failure; so is an exit status that
    # comes without pg_regress's final "N of M tests failed." summary.
    started=$(grep -cE '^(test |     )[^ ].* \.\.\. ' "$log" || true)
    pass=$(grep -cE '\.\.\. ok( |$)' "$log" || true)
    fail=$(grep -cE '\.\.\. (FAILED|failed)' "$log" || true)
    if ((started > pass + fail)); then
        fail=$((started - pass)); REG_NOTES+=("$target: pg_regress stopped early (exit status $rc)")
    elif ((rc != 0 && fail == 0)) \
        || { ((rc != 0)) && ! grep -qE 'tests? (failed|passed)' "$log"; }; then
        fail=$((fail + 1)); REG_NOTES+=("$target: exit status $rc, see $log")
    elif ((pass + fail == 0)); then
        fail=1; REG_NOTES+=("$target: no test ran")
    fi
    # pg_regress rewrites regression.diffs on every run: keep each group's.
    if ((fail)) && [[ -s $BUILD/regression.diffs ]]; then
        cp "$BUILD/regression.diffs" "$LOGS/regression-$target.diffs"
    fi
    REG_PASS=$((REG_PASS + pass))
    REG_FAIL=$((REG_FAIL + fail))
}

t0=$SECONDS
shopt -s nullglob
regress_files=("$BUILD"/sql/[0-9]*.sql)
tap_files=("$BUILD"/t/*.pl)
shopt -u nullglob
if ((${#regress_files[@]} == 0)); then
    echo "  regress   no tests (no sql/[0-9]*.sql)"
elif ((!BUILD_OK)); then
    record regress 0 1 "not run: the build failed"
else
    PORT=$(free_port 5499)
    if ! to_log "$LOGS/cluster.log" \
        cluster_init "$CLUSTER" "$PORT" "shared_preload_libraries = 'hanami'" \
        || ! to_log "$LOGS/cluster.log" cluster_start "$CLUSTER"; then
        record regress 0 1 "not run: the cluster did not start"
        show_log "$LOGS/cluster.log" 30 # includes the server log's end
    else
        # The data sets: COPYed server-side from the source directory, so
        # written as the server's user, who can read them.
        t1=$SECONDS
        if to_log "$LOGS/datasets.log" as_pg_in "$BUILD" "$PYTHON" examples/datasets.py data; then
            echo "  datasets  ok ($(elapsed $t1))"
        else
            record datasets 0 1 "examples/datasets.py failed"
            show_log "$LOGS/datasets.log" 20
        fi
        regress_group installcheck-data "$LOGS/regress-data.log"
        if [[ -e $BUILD/data ]]; then
            as_pg_in "$BUILD" mv data data.moved-away
        fi
        regress_group installcheck "$LOGS/regress.log"

        note=$(elapsed $t0)
        if ((${#REG_NOTES[@]})); then
            note=$(printf '%s; ' "${REG_NOTES[@]}"); note=${note%; }
        fi
        # A backend crash can hide behind a passing test: check the log.
        if grep -qE 'terminated by signal|PANIC:' "$CLUSTER/server.log"; then
            REG_FAIL=$((REG_FAIL + 1)); note="the server crashed, see $CLUSTER/server.log"
        fi
        record regress "$REG_PASS" "$REG_FAIL" "$note"
        if ((REG_FAIL)); then
            grep -hE '\.\.\. (FAILED|failed|diff)|^diff command|could not|FATAL|ERROR' \
                "$LOGS/regress-data.log" "$LOGS/regress.log" | head -n 20 | sed 's/^/  | /' || true
            grep -E 'terminated by signal|PANIC:' "$CLUSTER/server.log" \
                | head -n 10 | sed 's/^/  | /' || true
            shown=0
            for diffs in "$LOGS"/regression-installcheck-data.diffs "$LOGS"/regression-installcheck.diffs; do
                [[ -s $diffs ]] || continue
                shown=1
                n=$(wc -l <"$diffs")
                echo "  --- $(basename "$diffs") (first $MAX_DIFF_LINES of $n lines; all in $diffs):"
                head -n "$MAX_DIFF_LINES" "$diffs" | sed 's/^/  | /'
            done
            if ((!shown)); then
                show_log "$LOGS/regress-data.log" 15
                show_log "$LOGS/regress.log" 15
            fi
        fi
    fi
    cluster_stop "$CLUSTER"
fi

# ------------------------------------------------------------------- tap
# PostgreSQL::Test::Cluster makes its own clusters under tmp_check/; it needs
# the server's binaries first on PATH, pg_regress, and a writable TESTDIR.
# One prove per file: a file that dies, or runs fewer tests than it planned,
# is then a failure of its own even when none of its assertions failed.
t0=$SECONDS
if ((${#tap_files[@]} == 0)); then
    echo "  tap       no tests (no t/*.pl)"
elif ((!BUILD_OK)); then
    record tap 0 1 "not run: the build failed"
else
    as_pg_in "$BUILD" rm -rf tmp_check
    as_pg_in "$BUILD" mkdir -p tmp_check "$WORK/pocl-tap"
    tap_pass=0 tap_fail=0 tap_bad=()
    for f in "${tap_files[@]}"; do
        name=$(basename "$f" .pl)
        log_file=$LOGS/tap-$name.log
        set +e
        to_log "$log_file" as_pg_in "$BUILD" \
            env TESTDIR="$BUILD" PATH="$PGBIN:$PATH" \
            PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
            POCL_CACHE_DIR="$WORK/pocl-tap" \
            prove -v -I "$PGXS_DIR/src/test/perl" -I "$BUILD" "t/$name.pl"
        rc=$?
        set -e
        # Top-level assertions only ("ok 3 - name"); subtests are indented.
        pass=$(grep -cE '^ok [0-9]+' "$log_file" || true)
        fail=$(grep -cE '^not ok [0-9]+' "$log_file" || true)
        if ((rc != 0 && fail == 0)) || ((pass + fail == 0)); then
            fail=$((fail + 1)) # died, bad plan, no assertion at all, ...
        fi
        tap_pass=$((tap_pass + pass))
        tap_fail=$((tap_fail + fail))
        ((fail == 0)) || tap_bad+=("$name")
    done
    note=$(elapsed $t0)
    ((${#tap_bad[@]} == 0)) || note="failing: ${tap_bad[*]}"
    record tap "$tap_pass" "$tap_fail" "$note"
    for name in "${tap_bad[@]}"; do
        echo "  --- t/$name.pl:"
        grep -E '^not ok|^#   Failed|^#   at |Dubious|Bad plan|Parse errors| died|^# Looks like' \
            "$LOGS/tap-$name.log" | head -n 30 | sed 's/^/  | /' || true
        show_log "$LOGS/tap-$name.log" 10
        # Why a test died (e.g. "error running SQL") is only in its own log.
        if [[ -f $BUILD/tmp_check/log/regress_log_$name ]]; then
            show_log "$BUILD/tmp_check/log/regress_log_$name" 25
        fi
    done
    if ((${#tap_bad[@]})) && [[ -d $BUILD/tmp_check/log ]]; then
        echo "  TAP server logs: $BUILD/tmp_check/log"
    fi
fi

# ---------------------------------------------------------------- docker
# t/docker-image.sh (as root: buildah, chroot, mounts): builds a local
# stand-in for the official postgres:15-bookworm image (kept between runs
# in /var/tmp/hanami-docker-base), builds docker/Dockerfile on it with the
# build tree as context, starts the image's server and checks it. TAP: one
# result per check; a run that stops early counts its missing checks as
# failed.
t0=$SECONDS
DOCKER_LOG=$LOGS/docker.log
set +e
# (sudo resets the environment: pass on the step's own settings)
docker_env=()
for v in HANAMI_DOCKER_CACHE HANAMI_DOCKER_PORT STORAGE_DRIVER; do
    [[ -n ${!v:-} ]] && docker_env+=("$v=${!v}")
done
to_log "$DOCKER_LOG" as_root env "${docker_env[@]}" "$BUILD/t/docker-image.sh" "$BUILD" "$LOGS"
rc=$?
set -e
# Files the step wrote as root: give them back (the work area is removed
# as the caller).
is_root || as_root chown -R "$(id -u):$(id -g)" "$LOGS"
pass=$(grep -cE '^ok [0-9]+' "$DOCKER_LOG" || true)
fail=$(grep -cE '^not ok [0-9]+' "$DOCKER_LOG" || true)
planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$DOCKER_LOG" | head -n 1)
note=$(elapsed $t0)
if [[ -z $planned ]]; then
    fail=$((fail + 1)); note="the step did not start, see $DOCKER_LOG"
elif ((pass + fail < planned)); then
    note="stopped after $((pass + fail)) of $planned checks"
    fail=$((planned - pass))
elif ((rc != 0 && fail == 0)); then
    fail=1; note="exit status $rc"
fi
record docker "$pass" "$fail" "$note"
if ((fail)); then
    grep -E '^not ok|^Bail out|^# ' "$DOCKER_LOG" | head -n 40 | sed 's/^/  | /' || true
fi

# ---------------------------------------------------------------- total
FINISHED=1
cleanup
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
((TOTAL_FAIL == 0))
