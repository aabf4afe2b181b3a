#!/usr/bin/env bash
# docs/reference.sh - write docs/reference.md from the catalog: every
# function of the extension (signature, markings, COMMENT), every table and
# view (COMMENT, columns) and every hanami.* setting (pg_settings).
#
# Usage:
#   docs/reference.sh [-o FILE]               a throwaway cluster (t/lib.sh)
#                                             with the installed hanami
#                                             preloaded: run `make install`
#                                             first (HANAMI_PG_PREFIX is honoured)
#   docs/reference.sh -d CONNINFO [-o FILE]   a database of a running server
#                                             where hanami is preloaded and
#                                             CREATE EXTENSION hanami was run
#
# FILE defaults to docs/reference.md; `-o -` writes to stdout. The output
# depends only on the catalog: t/165_reference.pl regenerates it and fails
# when the checked-in docs/reference.md differs.
set -euo pipefail

# shellcheck source=t/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"

OUT=$HANAMI_ROOT/docs/reference.md
CONNINFO=
while getopts 'o:d:h' opt; do
    case $opt in
        o) OUT=$OPTARG ;;
        d) CONNINFO=$OPTARG ;;
        *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

# The whole page, as one query's text. Everything is ordered by name in the
# C collation, so the output does not depend on the server's locale.
read -r -d '' QUERY <<'SQL' || true
WITH ext AS (
    SELECT oid, extversion FROM pg_extension WHERE extname = 'hanami'
), members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), funcs AS (
    SELECT p.oid, p.proname::text COLLATE "C" AS name,
           pg_get_function_identity_arguments(p.oid) COLLATE "C" AS ident,
           pg_get_function_arguments(p.oid) AS args,
           pg_get_function_result(p.oid) AS result,
           concat_ws(', ',
               CASE p.prokind WHEN 'w' THEN 'WINDOW' WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' END,
               CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
               CASE WHEN p.proisstrict THEN 'STRICT' END,
               CASE p.proparallel WHEN 's' THEN 'PARALLEL SAFE' WHEN 'r' THEN 'PARALLEL RESTRICTED' ELSE 'PARALLEL UNSAFE' END,
               CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' END,
               'LANGUAGE ' || l.lanname) AS marks,
           has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
           p.prorettype IN ('trigger'::regtype, 'event_trigger'::regtype)
               OR EXISTS (SELECT 1 FROM pg_type t WHERE t.oid IN (SELECT objid FROM members WHERE classid = 'pg_type'::regclass)
                          AND p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend)) AS internal,
           coalesce(obj_description(p.oid, 'pg_proc'), '(no comment)') AS comment
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.oid IN (SELECT objid FROM members WHERE classid = 'pg_proc'::regclass)
), func_md AS (
    SELECT internal,
           string_agg(format(E'### hanami.%s(%s)\n\n```text\nhanami.%s(%s) RETURNS %s\n```\n\n%s%s\n\n%s\n',
                             name, ident, name, args, result, marks,
                             CASE WHEN public_exec THEN '' ELSE '; not executable by PUBLIC' END,
                             comment),
                      E'\n' ORDER BY name, ident) AS md
    FROM funcs GROUP BY internal
), rels AS (
    SELECT c.oid, c.relname::text COLLATE "C" AS name,
           CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END AS kind,
           has_table_privilege('public', c.oid, 'SELECT') AS public_select,
           coalesce(obj_description(c.oid, 'pg_class'), '(no comment)') AS comment,
           (SELECT string_agg(format('`%s` %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols
    FROM pg_class c
    WHERE c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)
      AND c.relkind IN ('r', 'p', 'v', 'm')
), types AS (
    SELECT format_type(t.oid, NULL) COLLATE "C" AS name,
           coalesce(obj_description(t.oid, 'pg_type'), '(no comment)') AS comment
    FROM pg_type t WHERE t.oid IN (SELECT objid FROM members WHERE classid = 'pg_type'::regclass)
), settings AS (
    SELECT name COLLATE "C" AS name, context, vartype,
           CASE WHEN extra_desc LIKE 'Default: %' THEN 'see description'
                WHEN vartype = 'string' AND boot_val = '' THEN 'empty'
                WHEN unit = 'kB' THEN
                    CASE WHEN boot_val::bigint % 1048576 = 0 THEN (boot_val::bigint / 1048576) || 'GB'
                         WHEN boot_val::bigint % 1024 = 0 THEN (boot_val::bigint / 1024) || 'MB'
                         ELSE boot_val || 'kB' END
                WHEN unit IS NOT NULL THEN boot_val || unit
                ELSE boot_val END AS dflt,
           concat_ws(' ', short_desc, extra_desc,
               CASE WHEN enumvals IS NOT NULL THEN 'Values: ' || array_to_string(enumvals, ', ') || '.'
                    WHEN vartype IN ('integer', 'real') AND max_val = '2147483647' THEN format('At least %s%s.', min_val, coalesce(' ' || unit, ''))
                    WHEN vartype IN ('integer', 'real') THEN format('Range: %s to %s%s.', min_val, max_val, coalesce(' ' || unit, '')) END)
               AS descr
    FROM pg_settings WHERE name LIKE 'hanami.%'
)
SELECT concat_ws(E'\n',
'# hanami reference',
'',
format('Generated from the catalog of hanami %s by `docs/reference.sh`: do not edit',
       (SELECT extversion FROM ext)),
'by hand. Functions, types, tables and views are described by their',
'`COMMENT`s in `sql/parts/`; settings by their definitions in the library. After',
'a change, `make install && docs/reference.sh` rewrites this page (the test',
'command checks that it is current).',
'',
'Markings: volatility, `STRICT` (a NULL argument gives NULL without calling',
'the function), parallel safety, `SECURITY DEFINER` (runs with the rights of',
'the extension''s owner) and the language.',
'',
'## Types',
'',
(SELECT string_agg(format('- `%s`: %s', name, comment), E'\n' ORDER BY name) FROM types),
'',
'## Functions',
'',
(SELECT md FROM func_md WHERE NOT internal),
'## Internal functions',
'',
'Type input and output functions and triggers: the server calls them.',
'',
(SELECT md FROM func_md WHERE internal),
'## Tables and views',
'',
'What the extension keeps in schema `hanami`. Who may read and change which',
'rows: [security.md](security.md).',
'',
(SELECT string_agg(format(E'### hanami.%s (%s)\n\n%s%s\n\nColumns: %s\n',
                          name, kind, comment,
                          CASE WHEN public_select THEN '' ELSE ' Not readable by PUBLIC.' END, cols),
                   E'\n' ORDER BY name) FROM rels),
'## Settings',
'',
'Context: `user` (any session may `SET` it), `superuser` (superusers only),',
'`sighup` (`postgresql.conf`, then reload), `postmaster` (server start).',
'',
'| setting | type | context | default | description |',
'|---|---|---|---|---|',
(SELECT string_agg(format('| `%s` | %s | %s | %s | %s |', name, vartype, context, dflt,
                          replace(descr, '|', '\|')), E'\n' ORDER BY name) FROM settings),
'')
SQL

generate() { # generate PSQL-ARGS...: the page on stdout
    local checks
    checks=$("$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 "$@" -c "
        SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'hanami') || ' '
            || (SELECT count(*) FROM pg_settings WHERE name = 'hanami.max_workers')") \
        || die "cannot connect to the database to describe"
    [[ ${checks%% *} == 1 ]] || die "hanami is not installed in that database: CREATE EXTENSION hanami"
    [[ ${checks##* } == 1 ]] || die "hanami is not preloaded (shared_preload_libraries = 'hanami'): its settings are incomplete"
    "$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 "$@" -c "$QUERY"
}

TMP=$(mktemp -d /tmp/hanami-ref.XXXXXX)
chmod 755 "$TMP"
CLUSTER=
finish() {
    [[ -n $CLUSTER ]] && cluster_stop "$CLUSTER"
    rm -rf "$TMP"
}
trap finish EXIT

if [[ -n $CONNINFO ]]; then
    generate -d "$CONNINFO" >"$TMP/reference.md"
else
    [[ -f $PG_PREFIX/share/postgresql/$PG_MAJOR/extension/hanami.control ]] \
        || die "hanami is not installed in $PG_PREFIX: run make install first"
    CLUSTER=$TMP/pg
    port=$(free_port 5499)
    cluster_init "$CLUSTER" "$port" "shared_preload_libraries = 'hanami'" || die "initdb failed"
    cluster_start "$CLUSTER" || die "the throwaway server did not start"
    as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$CLUSTER/socket" -p "$port" -U "$(pg_user)" \
        -d postgres -c 'CREATE EXTENSION hanami' || die "CREATE EXTENSION hanami failed"
    generate -h "$CLUSTER/socket" -p "$port" -U "$(pg_user)" -d postgres >"$TMP/reference.md"
fi

if [[ $OUT == - ]]; then
    cat "$TMP/reference.md"
else
    cp "$TMP/reference.md" "$OUT"
    echo "wrote $OUT"
fi
