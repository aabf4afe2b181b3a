#!/usr/bin/env bash
# bench/hanami_bench.sh - the growing ("hanami") network kind on Fashion-MNIST,
# raw pixels, online, one thread: in the engine alone and inside PostgreSQL,
# next to OpenHanami's published figure and the dense kind.
#
# Usage:  bench/hanami_bench.sh [--quick]
#
#   1. installs what is missing (apt, via sudo when not root): the build and
#      server packages (t/setup-deps.sh), python3-psycopg, python3-numpy,
#      dataset-fashion-mnist
#   2. builds bench/hanami_engine.c (the engine without PostgreSQL) and runs it:
#      epoch 1 three times (the best time counts), with 1 % corrupted rows,
#      and three epochs without and with reduction
#   3. builds and installs hanami, starts a throwaway cluster (unix socket
#      only), loads Fashion-MNIST (bench/fmnist.py), runs bench/hanami_bench.py,
#      stops the cluster (HANAMI_BENCH_KEEP=1 keeps it)
#
# The Markdown table for bench/README.md goes to $HANAMI_BENCH_DIR_HANAMI/out/results.md.
#
# Environment:
#   HANAMI_BENCH_DIR_HANAMI  work directory (default /tmp/hanami-grow-bench)
#   HANAMI_BENCH_PORT      first port to try (default 5541)
#   HANAMI_SKIP_DEPS=1     install nothing
#   HANAMI_BENCH_KEEP=1    leave the cluster running
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"

DIR=${HANAMI_BENCH_DIR_HANAMI:-/tmp/hanami-grow-bench}
DB=hanami_grow_bench
QUICK=()
[[ ${1:-} == --quick ]] && QUICK=(--quick)
[[ $DIR == /* ]] || DIR=$PWD/$DIR
((${#DIR} <= 80)) || die "HANAMI_BENCH_DIR_HANAMI is too long for a socket path"
FM=/usr/share/datasets/fashion-mnist

# ---------------------------------------------------------------- 1. deps
PACKAGES=(python3-psycopg python3-numpy dataset-fashion-mnist)
if [[ ${HANAMI_SKIP_DEPS:-} != 1 ]]; then
    "$HANAMI_ROOT/t/setup-deps.sh"
    missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$p")
    done
    if ((${#missing[@]})); then
        note "Installing ${missing[*]}"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi
[[ -r $FM/train-images-idx3-ubyte.gz ]] || die "Fashion-MNIST not found in $FM"

# ------------------------------------------------------- 2. engine alone
mkdir -p "$DIR"
chmod 755 "$DIR"
note "Engine alone (bench/hanami_engine.c), one thread"
for f in "$FM"/*-ubyte.gz; do
    out=$DIR/$(basename "$f" .gz)
    [[ -s $out ]] || gunzip -c "$f" >"$out"
done
make -s -C "$HANAMI_ROOT" bench/hanami_engine
cp "$HANAMI_ROOT/bench/hanami_engine" "$DIR/hanami_engine"
LIMIT=()
((${#QUICK[@]})) && LIMIT=(--limit 10000)
for run in 1 2 3; do
    "$DIR/hanami_engine" --fashion "$DIR" --epochs 1 --seed "$run" "${LIMIT[@]}" | grep '^epoch'
done | tee "$DIR/engine.txt"
best=$(awk '{print $3}' "$DIR/engine.txt" | sort -n | head -1)
log "engine: best epoch 1 of three runs: $best s for 60,000 samples (OpenHanami publishes 1.9 s)"
log "engine, 1 % of rows with a pixel 10^6 times too large:"
"$DIR/hanami_engine" --fashion "$DIR" --epochs 1 --seed 1 --corrupt 0.01 "${LIMIT[@]}" | grep '^epoch'
log "engine, three epochs without reduction, then with reduction_threshold 1 and 50:"
"$DIR/hanami_engine" --fashion "$DIR" --epochs 3 --seed 1 "${LIMIT[@]}" | grep '^epoch'
for threshold in 1 50; do
    "$DIR/hanami_engine" --fashion "$DIR" --epochs 3 --seed 1 --reduction \
        --reduction-threshold "$threshold" "${LIMIT[@]}" | grep '^epoch'
done

# -------------------------------------------------- 3. inside PostgreSQL
note "Building and installing hanami"
make -C "$HANAMI_ROOT" -s PG_CONFIG="$PG_CONFIG" >/dev/null
as_root make -C "$HANAMI_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
CLUSTER=$DIR/pg
cluster_stop "$CLUSTER" || true
rm -rf "$CLUSTER"
PORT=$(free_port "${HANAMI_BENCH_PORT:-5541}")
cluster_init "$CLUSTER" "$PORT" "shared_preload_libraries = 'hanami'" \
    "max_parallel_workers_per_gather = 0" "synchronize_seqscans = off"
cluster_start "$CLUSTER"
if [[ ${HANAMI_BENCH_KEEP:-} != 1 ]]; then
    trap 'cluster_stop "$CLUSTER"' EXIT
fi
as_pg "$PGBIN/createdb" -h "$CLUSTER/socket" -p "$PORT" "$DB"
CONN="host=$CLUSTER/socket port=$PORT dbname=$DB user=$(pg_user)"
note "Loading Fashion-MNIST"
as_pg "$PYTHON" "$HANAMI_ROOT/bench/fmnist.py" load "$CONN"
note "Inside PostgreSQL (bench/hanami_bench.py)"
make_pg_dir "$DIR/out"
as_pg "$PYTHON" "$HANAMI_ROOT/bench/hanami_bench.py" "$CONN" --out "$DIR/out/results.md" "${QUICK[@]}"
log "table for bench/README.md: $DIR/out/results.md"
