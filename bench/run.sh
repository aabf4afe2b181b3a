#!/usr/bin/env bash
# bench/run.sh - the Fashion-MNIST benchmark, from a fresh machine, in one
# command.
#
# Usage:  bench/run.sh [--quick]
#
#   1. installs what is missing: the build and server packages
#      (t/setup-deps.sh), then the peers and the data (apt, via sudo when not
#      root): python3-torch with OpenBLAS (libopenblas0-pthread), PL/Python
#      (postgresql-plpython3-15), psycopg, numpy, dataset-fashion-mnist
#   2. builds and installs hanami
#   3. starts a throwaway PostgreSQL 15 cluster (unix socket only) with
#      hanami preloaded, replacing one left by an earlier run
#   4. loads Fashion-MNIST into fmnist_train / fmnist_test (bench/fmnist.py)
#   5. builds bench/fma_peak.c (-O2 -march=native: this machine's float32
#      FMA peak, one thread) and runs bench/bench.py: one line per
#      configuration with the ratio to its peer measured in the same run; the
#      Markdown table for bench/README.md goes to $HANAMI_BENCH_DIR/results.md
#   6. stops the cluster (HANAMI_BENCH_KEEP=1 keeps it running)
#
# The machine should be otherwise idle: every figure is a ratio against a
# peer measured moments apart, but two threads need two free cores.
#
# Environment:
#   HANAMI_BENCH_DIR   cluster directory (default /tmp/hanami-bench)
#   HANAMI_BENCH_PORT  first port to try (default 5531)
#   HANAMI_SKIP_DEPS=1 install nothing
#   HANAMI_BENCH_KEEP=1 leave the cluster running
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"

BENCH_DIR=${HANAMI_BENCH_DIR:-/tmp/hanami-bench}
DB=hanami_bench
MARKER=.hanami-bench
[[ $BENCH_DIR == /* ]] || BENCH_DIR=$PWD/$BENCH_DIR
BENCH_DIR=${BENCH_DIR%/}
((${#BENCH_DIR} <= 80)) || die "HANAMI_BENCH_DIR is too long for a socket path (max 80 characters)"
if [[ -e $BENCH_DIR && ! -f $BENCH_DIR/$MARKER ]] \
    && ! [[ -d $BENCH_DIR && -z $(ls -A "$BENCH_DIR" 2>/dev/null) ]]; then
    die "$BENCH_DIR exists and is not a hanami benchmark directory; set HANAMI_BENCH_DIR"
fi

# ---------------------------------------------------------------- 1. deps
BENCH_PACKAGES=(python3-torch libopenblas0-pthread postgresql-plpython3-15
    python3-psycopg python3-numpy dataset-fashion-mnist)
if [[ ${HANAMI_SKIP_DEPS:-} != 1 ]]; then
    "$HANAMI_ROOT/t/setup-deps.sh"
    missing=()
    for p in "${BENCH_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$p")
    done
    if ((${#missing[@]})); then
        note "Installing the benchmark's peers and data: ${missing[*]}"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${BENCH_PACKAGES[@]}"
    fi
fi

# --------------------------------------------------------------- 2. build
note "Building and installing hanami"
make -C "$HANAMI_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
as_root make -C "$HANAMI_ROOT" -s PG_CONFIG="$PG_CONFIG" install

# ------------------------------------------------------------- 3. cluster
if [[ -e $BENCH_DIR ]]; then
    if [[ -f $BENCH_DIR/$MARKER ]]; then
        cluster_stop "$BENCH_DIR"
        as_root rm -rf "$BENCH_DIR" 2>/dev/null || rm -rf "$BENCH_DIR"
    else
        rmdir "$BENCH_DIR"
    fi
fi
PORT=$(free_port "${HANAMI_BENCH_PORT:-5531}")
note "Starting a throwaway cluster in $BENCH_DIR (port $PORT, unix socket only)"
cluster_init "$BENCH_DIR" "$PORT" "shared_preload_libraries = 'hanami'" \
    "max_wal_size = 4GB" || die "could not create the cluster"
as_pg touch "$BENCH_DIR/$MARKER"
cluster_start "$BENCH_DIR" || die "could not start the cluster"
stop_cluster() { [[ ${HANAMI_BENCH_KEEP:-} == 1 ]] || cluster_stop "$BENCH_DIR"; }
trap stop_cluster EXIT
as_pg "$PGBIN/createdb" -h "$BENCH_DIR/socket" -p "$PORT" "$DB"
CONNINFO="host=$BENCH_DIR/socket port=$PORT dbname=$DB user=$(pg_user)"

# ---------------------------------------------------------------- 4. data
note "Loading Fashion-MNIST (bench/fmnist.py)"
"$PYTHON" "$HANAMI_ROOT/bench/fmnist.py" load "$CONNINFO"

# ----------------------------------------------------------------- 5. run
note "Running the benchmark (bench/bench.py)"
RESULTS=$BENCH_DIR/results.md
FMA_PEAK=$BENCH_DIR/fma_peak
${CC:-cc} -O2 -march=native -o "$FMA_PEAK" "$HANAMI_ROOT/bench/fma_peak.c" -lm \
    || die "could not build bench/fma_peak.c"
"$PYTHON" "$HANAMI_ROOT/bench/bench.py" "$CONNINFO" --out "$RESULTS" --fma-peak "$FMA_PEAK" "$@"
