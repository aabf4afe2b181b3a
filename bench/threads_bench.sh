#!/usr/bin/env bash
# bench/threads_bench.sh - a dense fit with 1 and with 2 compute threads, on
# an idle machine and with a CPU-bound busy loop beside it.
#
# Usage:  bench/threads_bench.sh [--quick]
#
# Builds bench/threads_engine.c with the engine (no PostgreSQL), then on
# Fashion-MNIST (package dataset-fashion-mnist, raw pixels, 784-128-10,
# SGD, batch 64, one epoch on ROWS rows) runs the same fit with 1 thread
# and with 2 threads, REPEAT times each, interleaved:
#   idle   nothing else started
#   busy   a busy loop (`while :; do :; done`) running the whole time,
#          pinned to the last CPU when taskset is there
# and prints, for each, the range and median of the epoch seconds and the
# ratio  median(2 threads) / median(1 thread)  (below 1: 2 threads faster).
# The target: the busy ratio at most 1.10 (2 threads never hurt).  Every
# run must end with the same parameter bytes (a hash of them); the script
# fails if any differs.
#
# --quick: 10,000 rows and REPEAT 3.
#
# Environment:
#   ROWS=N          training rows (default 30000)
#   REPEAT=N        runs per configuration (default 5)
#   LAYERS=a,b,c    network (default 784,128,10);  BATCH=N (default 64)
#   FASHION_DIR     where the Fashion-MNIST .gz files are
#   THREADS_ENGINE  a threads_engine binary to use instead of building one
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FASHION=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
ROWS=${ROWS:-30000}
REPEAT=${REPEAT:-5}
LAYERS=${LAYERS:-784,128,10}
BATCH=${BATCH:-64}
if [[ ${1:-} == --quick ]]; then
    ROWS=10000
    REPEAT=3
fi

WORK=$(mktemp -d /tmp/hanami-threadsbench.XXXXXX)
BUSY_PID=
cleanup() {
    if [[ -n $BUSY_PID ]]; then kill "$BUSY_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ----------------------------------------------------------------- build
# the flags of the engine's own builds (Makefile: UNIT_CFLAGS)
ENGINE=${THREADS_ENGINE:-}
if [[ -z $ENGINE ]]; then
    mapfile -t SRCS < <(cd "$ROOT" && ls src/core/*.c src/core/*/*.c | grep -v -e '^src/core/tests/' -e '^src/core/fuzz/' | sort)
    (cd "$ROOT" && ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
        -Wno-missing-field-initializers -Wno-sign-compare -Wdeclaration-after-statement \
        -fopenmp-simd -pthread -Isrc -o "$WORK/threads_engine" bench/threads_engine.c "${SRCS[@]}" -lm)
    ENGINE=$WORK/threads_engine
fi

# ------------------------------------------------------------------ data
[[ -r $FASHION/train-images-idx3-ubyte.gz ]] \
    || { echo "Fashion-MNIST not found in $FASHION (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
mkdir -p "$WORK/fashion"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
    gunzip -c "$FASHION/$f.gz" >"$WORK/fashion/$f"
done

CPUS=$(nproc)
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $CPUS CPUs"
echo "# $LAYERS, batch $BATCH, SGD, 1 epoch on $ROWS rows, $REPEAT runs per configuration"

# run THREADS: one fit; prints "seconds hash jobs solo late"
run() {
    "$ENGINE" --fashion "$WORK/fashion" --threads "$1" --layers "$LAYERS" \
        --batch "$BATCH" --limit "$ROWS" \
        | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
               END { if ("hash" in v) print v["seconds"], v["hash"], v["jobs"] + 0, v["solo"] + 0, v["late"] + 0 }'
}

# stats FILE: "min-max (median M)" of the numbers in FILE; median to $MEDIAN
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f-%.3f s (median %.3f)\n", v[1], v[NR], m }'
}
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

HASHES=$WORK/hashes
: >"$HASHES"
STATUS=0

scenario() {
    local name=$1 t s h jobs solo late all_jobs=0 all_solo=0 all_late=0
    : >"$WORK/t1"
    : >"$WORK/t2"
    for ((i = 0; i < REPEAT; i++)); do
        for t in 1 2; do
            h=
            read -r s h jobs solo late < <(run "$t")
            [[ -n ${h:-} ]] || { echo "the fit failed" >&2; exit 1; }
            echo "$s" >>"$WORK/t$t"
            echo "$h" >>"$HASHES"
            all_jobs=$((all_jobs + jobs))
            all_solo=$((all_solo + solo))
            all_late=$((all_late + late))
        done
    done
    printf '%-5s 1 thread:  %s' "$name" "$(stats "$WORK/t1")"
    echo
    printf '%-5s 2 threads: %s  (pool jobs: %d, %d%% run alone, %d late)' "$name" \
        "$(stats "$WORK/t2")" "$all_jobs" $((all_jobs ? 100 * all_solo / all_jobs : 0)) "$all_late"
    echo
    RATIO=$(awk -v a="$(median "$WORK/t2")" -v b="$(median "$WORK/t1")" 'BEGIN { printf "%.2f", a / b }')
    echo "$name  ratio 2 threads / 1 thread: $RATIO"
}

scenario idle
IDLE_RATIO=$RATIO

if command -v taskset >/dev/null 2>&1 && ((CPUS > 1)); then
    taskset -c $((CPUS - 1)) sh -c 'while :; do :; done' &
else
    sh -c 'while :; do :; done' &
fi
BUSY_PID=$!
scenario busy
BUSY_RATIO=$RATIO
kill "$BUSY_PID"
wait "$BUSY_PID" 2>/dev/null || true
BUSY_PID=

if (($(sort -u "$HASHES" | wc -l) == 1)); then
    echo "parameters: the same bytes in all $(wc -l <"$HASHES") runs ($(head -1 "$HASHES"))"
else
    echo "parameters DIFFER between runs:"
    sort "$HASHES" | uniq -c
    STATUS=1
fi
echo "summary: idle $IDLE_RATIO, busy $BUSY_RATIO (target: busy at most 1.10)"
exit $STATUS
