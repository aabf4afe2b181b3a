#!/usr/bin/env bash
# docs/pictures.sh - draw the pictures of the docs from real trainings on
# scikit-learn's 8x8 digits (examples/datasets.py):
#   docs/img/learning-curve.svg  a dense network trained by hanami.train:
#                                loss, validation loss and accuracy per epoch
#                                (hanami.learning_curve, hanami.plot)
#   docs/img/growth.svg          a network of the growing kind with the
#                                reduction pass: its sections and synapses
#                                after each epoch (hanami.info -> 'growth')
#
# Usage:
#   docs/pictures.sh [-o DIR]               a throwaway cluster (t/lib.sh) with
#                                           the installed hanami preloaded: run
#                                           `make install` first
#                                           (HANAMI_PG_PREFIX is honoured)
#   docs/pictures.sh -d CONNINFO [-o DIR]   a database of a running server with
#                                           CREATE EXTENSION hanami done; all is
#                                           done in one transaction that is
#                                           rolled back (nothing stays)
#
# DIR defaults to docs/img. Seeds are fixed, so the same build draws the same
# pictures.
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"

OUT=$HANAMI_ROOT/docs/img
CONNINFO=
while getopts 'o:d:h' opt; do
    case $opt in
        o) OUT=$OPTARG ;;
        d) CONNINFO=$OPTARG ;;
        *) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

TMP=$(mktemp -d /tmp/hanami-pictures.XXXXXX)
chmod 755 "$TMP"
CLUSTER=
finish() {
    [[ -n $CLUSTER ]] && cluster_stop "$CLUSTER"
    rm -rf "$TMP"
}
trap finish EXIT

"$PYTHON" "$HANAMI_ROOT/examples/datasets.py" "$TMP/data" >/dev/null \
    || die "examples/datasets.py failed (python3-sklearn: t/setup-deps.sh)"

if [[ -n $CONNINFO ]]; then
    CONNECT=(-d "$CONNINFO")
else
    [[ -f $PG_PREFIX/share/postgresql/$PG_MAJOR/extension/hanami.control ]] \
        || die "hanami is not installed in $PG_PREFIX: run make install first"
    CLUSTER=$TMP/pg
    port=$(free_port 5499)
    cluster_init "$CLUSTER" "$port" "shared_preload_libraries = 'hanami'" || die "initdb failed"
    cluster_start "$CLUSTER" || die "the throwaway server did not start"
    CONNECT=(-h "$CLUSTER/socket" -p "$port" -U "$(pg_user)" -d postgres)
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "${CONNECT[@]}" -c 'CREATE EXTENSION hanami' \
        || die "CREATE EXTENSION hanami failed"
fi

# psql writes the files (\g), on this side.
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "${CONNECT[@]}" \
    -v data="$TMP/data/digits.csv" -v curve="$TMP/learning-curve.svg" -v growth="$TMP/growth.svg" <<'SQL' \
    || die "drawing the pictures failed"
SET hanami.threads = 1;
BEGIN;
CREATE TEMP TABLE digits (id int, x real[], label int, is_test boolean) ON COMMIT DROP;
-- (\copy does not expand variables: build the command, then run it)
\set load '\\copy digits FROM ' :'data' ' WITH (FORMAT csv, HEADER true)'
:load

-- A dense network, 20 % of the training rows held out for validation.
SELECT hanami.create_model('pictures_digits',
       '{"layers": [64, {"count": 256, "name": "hidden"}, {"count": 10, "name": "out"}]}', seed => 42);
SELECT hanami.train('pictures_digits', 'SELECT x, label FROM digits WHERE NOT is_test',
       '{"epochs": 40, "batch_size": 1, "learning_rate": 0.0001, "validation_split": 0.2}');
SELECT hanami.plot(hanami.learning_curve('pictures_digits') - 'rows_per_second',
       '{"title": "Digits, 64-256-10: a learning curve", "x_label": "epoch", "y_label": "loss / accuracy"}')
\g (format=unaligned tuples_only=on) :curve

-- The growing kind, reach 2, with the reduction pass after every epoch:
-- it grows, prunes the synapses that did not help, grows again.
SELECT hanami.plot(jsonb_build_object(
           'epochs', jsonb_path_query_array(g, '$[*].epoch'),
           'sections', jsonb_path_query_array(g, '$[*].sections'),
           'synapses', jsonb_path_query_array(g, '$[*].synapses')),
       '{"title": "Digits, growing kind 64-128-10: growth and reduction", "x_label": "epoch", "y_label": "count"}')
FROM (SELECT hanami.info(hanami.fit(
          hanami.network('{"kind": "hanami", "layers": [64, 128, 10],
                           "settings": {"enable_reduction": true, "reduction_threshold": 3,
                                        "max_connection_distance": 2}}', 1),
          'SELECT x, label FROM digits WHERE NOT is_test', '{"epochs": 16, "seed": 1}')) -> 'growth' AS g) s
\g (format=unaligned tuples_only=on) :growth
ROLLBACK;
SQL

for f in learning-curve.svg growth.svg; do
    [[ -s $TMP/$f ]] || die "$f was not written"
    cp "$TMP/$f" "$OUT/$f"
    echo "wrote $OUT/$f"
done
