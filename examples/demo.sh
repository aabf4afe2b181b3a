#!/usr/bin/env bash
# examples/demo.sh - from a fresh checkout to a trained model in one command.
#
# Usage:  examples/demo.sh
#
#   1. installs what is missing (t/setup-deps.sh; Debian 12, apt)
#   2. builds and installs the extension (make; make install, via sudo when
#      not root)
#   3. starts a throwaway PostgreSQL 15 cluster with hanami preloaded, on a
#      unix socket only (nothing listens on the network); a demo cluster
#      left running in the same directory is stopped and replaced
#   4. loads scikit-learn's 8x8 handwritten digits into a table, trains a
#      network on 75 % of them with one SQL call, measures accuracy on the
#      held-out 25 %, and classifies a few rows inline in a SELECT
#   5. tours the rest (examples/demo-tour.sql): a project with two roles, a
#      named model trained by a background job with its progress, a branch,
#      the log, a diff, predictions by name, an evaluation, the learning
#      curve as a sparkline and as an SVG file (learning-curve.svg in the
#      cluster directory), and what a role of another project sees
#   6. prints how to connect to the cluster and how to stop it
#
# As root the cluster runs as the `postgres` OS user; otherwise as you.
#
# Environment:
#   HANAMI_DEMO_DIR   cluster directory (default /tmp/hanami-demo)
#   HANAMI_DEMO_PORT  first port to try (default 5499; the next free one is used)
#   HANAMI_SKIP_DEPS=1  do not run t/setup-deps.sh
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"

DEMO_DIR=${HANAMI_DEMO_DIR:-/tmp/hanami-demo}
DB=hanami_demo
MARKER=.hanami-demo # says "this directory is ours, recreate it at will"

# Absolute path (psql's -h needs one for a socket directory), no trailing /.
[[ $DEMO_DIR == /* ]] || DEMO_DIR=$PWD/$DEMO_DIR
DEMO_DIR=${DEMO_DIR%/}
# A unix socket path is limited to 107 bytes: DIR/socket/.s.PGSQL.NNNNN
((${#DEMO_DIR} <= 80)) || die "HANAMI_DEMO_DIR is too long for a socket path (max 80 characters)"

# Refuse, before doing anything, to replace a directory that is not ours:
# it must belong to the server's user (postgres when root, else you) ...
if [[ -e $DEMO_DIR ]] && [[ $(stat -c %U "$DEMO_DIR") != "$(pg_user)" ]]; then
    die "$DEMO_DIR belongs to $(stat -c %U "$DEMO_DIR") (an earlier demo run by another user?):" \
        "stop and remove it as that user, or set HANAMI_DEMO_DIR"
fi
# ... and be an earlier demo (or empty).
if [[ -e $DEMO_DIR && ! -f $DEMO_DIR/$MARKER ]] \
    && ! [[ -d $DEMO_DIR && -z $(ls -A "$DEMO_DIR" 2>/dev/null) ]]; then
    die "$DEMO_DIR exists and is not a hanami demo directory; set HANAMI_DEMO_DIR"
fi

# ---------------------------------------------------------------- 1. deps
if [[ ${HANAMI_SKIP_DEPS:-} != 1 ]]; then
    note "Checking packages (t/setup-deps.sh)"
    "$HANAMI_ROOT/t/setup-deps.sh"
fi

# --------------------------------------------------------------- 2. build
note "Building and installing hanami"
make -C "$HANAMI_ROOT" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
as_root make -C "$HANAMI_ROOT" -s PG_CONFIG="$PG_CONFIG" install

# ------------------------------------------------------------- 3. cluster
if [[ -e $DEMO_DIR ]]; then
    if [[ -f $DEMO_DIR/$MARKER ]]; then
        if cluster_running "$DEMO_DIR"; then
            note "Stopping the previous demo cluster in $DEMO_DIR"
            cluster_stop "$DEMO_DIR"
        fi
        as_root rm -rf "$DEMO_DIR" 2>/dev/null || rm -rf "$DEMO_DIR" \
            || die "cannot remove the previous demo in $DEMO_DIR"
    else
        rmdir "$DEMO_DIR" # empty: checked above
    fi
fi

PORT=$(free_port "${HANAMI_DEMO_PORT:-5499}")
note "Starting a throwaway cluster in $DEMO_DIR (port $PORT, unix socket only)"
cluster_init "$DEMO_DIR" "$PORT" "shared_preload_libraries = 'hanami'" \
    || die "could not create the cluster"
as_pg touch "$DEMO_DIR/$MARKER"
cluster_start "$DEMO_DIR" || die "could not start the cluster"
as_pg "$PGBIN/createdb" -h "$DEMO_DIR/socket" -p "$PORT" "$DB"

# ---------------------------------------------------------------- 4. data
note "Writing the data sets (examples/datasets.py)"
DATA=$DEMO_DIR/data-csv
"$PYTHON" "$HANAMI_ROOT/examples/datasets.py" "$DATA"
if is_root; then chown -R postgres:postgres "$DATA"; fi

# The SQL is echoed as psql reads it (-a), so this is what you see run.
note "Running the demo SQL"
PSQL=("$PGBIN/psql" -X -h "$DEMO_DIR/socket" -p "$PORT" -d "$DB"
    -v ON_ERROR_STOP=1 -P pager=off)
status=0
as_pg "${PSQL[@]}" -a <<SQL || status=$?
-- hanami: neural networks inside PostgreSQL.
CREATE EXTENSION hanami;

-- 1797 handwritten digits, 8x8 pixels with raw values 0..16 (no scaling);
-- is_test marks the 25 % held out.
CREATE TABLE digits (id int, x real[], label int, is_test boolean);
\\copy digits FROM '$DATA/digits.csv' WITH (FORMAT csv, HEADER true)

-- Train a 64-32-10 network (seed 42) on the training rows, straight from a query.
\\timing on
CREATE TABLE demo_models AS
SELECT 'digits'::text AS name,
       hanami.fit(hanami.network('{"layers":[64,32,10]}', 42),
                  'SELECT x, label FROM digits WHERE NOT is_test',
                  '{"epochs":30}') AS net;
\\timing off

-- Accuracy on the held-out rows the network has never seen.
SELECT hanami.verify(net, 'SELECT x, label FROM digits WHERE is_test') ->> 'accuracy' AS held_out_accuracy
FROM demo_models;

-- Inference inline in a SELECT.
SELECT d.id, d.label, hanami.classify(m.net, d.x) AS predicted
FROM digits d, demo_models m
WHERE d.is_test
ORDER BY d.id
LIMIT 10;

-- What the model is.
SELECT jsonb_pretty(hanami.info(net)) AS info FROM demo_models;
SQL

# ---------------------------------------------------------------- 5. tour
# Read here and fed on stdin (the server's user may not be able to read this
# checkout); psql writes the SVG as the server's user, into the cluster's
# directory. Queries are echoed (-e), the file's \echo lines are the headers.
CURVE=$DEMO_DIR/learning-curve.svg
if ((status == 0)); then
    note "The tour: projects, roles, background jobs, versions, curves (examples/demo-tour.sql)"
    as_pg "${PSQL[@]}" -e -q -v curve_file="$CURVE" \
        <"$HANAMI_ROOT/examples/demo-tour.sql" 2>&1 || status=$?
fi

# ------------------------------------------------------------ 6. how-to
if is_root; then
    CONNECT="runuser -u postgres -- $PGBIN/psql -h $DEMO_DIR/socket -p $PORT -d $DB"
    CONNECT_SUDO=
    if command -v sudo >/dev/null 2>&1; then
        CONNECT_SUDO="sudo -u postgres $PGBIN/psql -h $DEMO_DIR/socket -p $PORT -d $DB"
    fi
    STOP="runuser -u postgres -- $PGBIN/pg_ctl -D $DEMO_DIR/data stop"
else
    CONNECT="$PGBIN/psql -h $DEMO_DIR/socket -p $PORT -d $DB"
    CONNECT_SUDO=
    STOP="$PGBIN/pg_ctl -D $DEMO_DIR/data stop"
fi
CURVE_LINE=
if [[ -f $CURVE ]]; then
    CURVE_LINE="
The learning curve of the tour's job: $CURVE (open it in a browser)."
fi
echo
if ((status != 0)); then
    echo "The demo SQL failed (psql exit status $status); the cluster is still running."
fi
cat <<EOF
The demo cluster is running in $DEMO_DIR (server log: $DEMO_DIR/server.log).${CURVE_LINE}

Connect:
    $CONNECT${CONNECT_SUDO:+
  or, with sudo:
    $CONNECT_SUDO}
Stop it:
    $STOP
Remove it (after stopping):
    rm -rf $DEMO_DIR
Running examples/demo.sh again replaces it.
EOF
exit "$status"
