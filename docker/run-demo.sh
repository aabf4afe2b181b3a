#!/usr/bin/env bash
# docker/run-demo.sh - the demo of examples/demo.sh against a running server
# (the `demo` service of docker/compose.yaml).
#
# Usage:
#   run-demo.sh            wait for the server the PG* variables name (PGHOST,
#                          PGUSER, PGPASSWORD, PGDATABASE: an existing
#                          database), write the data sets, (re)create the
#                          database hanami_demo and run the demo's SQL in it
#   run-demo.sh --sql DIR  only print the demo's SQL, reading the data from DIR
#
# The SQL is taken from examples/demo.sh (its psql here-document) and
# expanded the way that script expands it, so the two never drift apart.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEMO=${HANAMI_DEMO_SCRIPT:-$HERE/../examples/demo.sh}
DATASETS=${HANAMI_DATASETS_SCRIPT:-$HERE/../examples/datasets.py}
[[ -f $DEMO ]] || DEMO=$HERE/demo.sh           # as copied into the demo image
[[ -f $DATASETS ]] || DATASETS=$HERE/datasets.py

# demo_sql DATA: the demo's SQL, with the data sets in DATA.
demo_sql() {
    local DATA=$1 body
    body=$(sed -n '/<<SQL/,/^SQL$/{/<<SQL/d;/^SQL$/d;p;}' "$DEMO")
    if [[ -z $body ]] || ! grep -q 'CREATE EXTENSION hanami' <<<"$body"; then
        echo "run-demo.sh: no demo SQL found in $DEMO" >&2
        return 1
    fi
    # The here-document is unquoted: expand it as the shell does there.
    eval "cat <<SQL
$body
SQL"
}

if [[ ${1:-} == --sql ]]; then
    demo_sql "${2:?usage: run-demo.sh --sql DIR}"
    exit
fi

for ((i = 0; i < 60; i++)); do
    pg_isready -q && break
    sleep 1
done
pg_isready || { echo "run-demo.sh: the server does not answer (PGHOST=${PGHOST:-})" >&2; exit 1; }

DATA=$(mktemp -d)
python3 "$DATASETS" "$DATA"
# A database of its own, as examples/demo.sh makes (its SQL creates the
# extension); a second run starts over.
psql -X -q -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS hanami_demo WITH (FORCE)' \
    -c 'CREATE DATABASE hanami_demo'
demo_sql "$DATA" | psql -X -v ON_ERROR_STOP=1 -P pager=off -a -d hanami_demo
echo
echo "The demo's model is in the database hanami_demo (table demo_models)."
