#!/usr/bin/env bash
# t/layering.sh - the rules of docs/architecture.md that grep can check, as
# TAP: the engine includes no PostgreSQL header, nothing outside the kind
# registry and the kinds' own folders tests which kind a network is, and
# the OpenCL backend does not reach into the PostgreSQL glue.
#
# Usage: t/layering.sh [TREE]   (default: this checkout)
set -uo pipefail

TREE=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$TREE" || exit 1
n=0
failed=0

# check NAME OUTPUT: ok when OUTPUT (the offending lines) is empty.
check() {
    n=$((n + 1))
    if [[ -z $2 ]]; then
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1"
        sed 's/^/#   /' <<<"$2"
    fi
}

sources() { find "$@" -name '*.[ch]' -not -path '*/fuzz/build/*' | sort; }

pg_headers='#include[[:space:]]*[<"](postgres|postgres_ext|fmgr|funcapi|miscadmin|pgstat|windowapi)\.h|#include[[:space:]]*[<"](utils|catalog|access|executor|nodes|lib|storage|postmaster|commands|libpq|common|port|tcop|parser|replication)/'

check "the engine (src/core) includes no PostgreSQL header" \
    "$(sources src/core | xargs grep -nE "$pg_headers" 2>/dev/null)"

check "the OpenCL backend includes no PostgreSQL header and no glue" \
    "$(sources src/opencl | xargs grep -nE "$pg_headers|#include[[:space:]]*\"pg/" 2>/dev/null)"

check "the engine and the OpenCL backend include nothing of the glue" \
    "$(sources src/core src/opencl | xargs grep -nE '#include[[:space:]]*"(glue|jobs|device|hanami_glue)\.h"' 2>/dev/null)"

# the kind ids and the kinds' own views belong to the registry and the kinds
kind_test='HANAMI_KIND_[A-Z]+|\bDenseOf[[:space:]]*\(|\bHkOf[[:space:]]*\('
check "no test of the network kind outside the registry and the kinds' folders" \
    "$(sources src | grep -vE '^src/core/(kind\.[ch]|image\.h|dense/|hanami/|graph/|tests/|fuzz/)' |
        xargs grep -nE "$kind_test" 2>/dev/null)"

echo "1..$n"
exit $((failed > 0))
