#!/usr/bin/env bash
# docker-entrypoint.sh - the stand-in image's entrypoint, written for this
# test: what the official postgres image's entrypoint does for the images
# built on it, as its documentation describes ("Initialization scripts",
# "Environment Variables"):
#   - as root, it makes PGDATA the postgres user's and runs itself again as
#     that user;
#   - when the command is "postgres" and PGDATA holds no cluster yet, it
#     runs initdb (superuser POSTGRES_USER, default postgres, password
#     POSTGRES_PASSWORD, required; TCP connections need it), starts a
#     temporary server on the unix socket only, creates POSTGRES_DB (default
#     POSTGRES_USER) unless it is postgres, runs /docker-entrypoint-initdb.d/
#     in name order (*.sql with psql into POSTGRES_DB, stopping at the first
#     error; *.sh sourced), stops the temporary server and says "PostgreSQL
#     init process complete; ready for start up.";
#   - then it runs the command.
set -Eeuo pipefail

if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi

if [[ ${1:-} == postgres && $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [[ ${1:-} == postgres && ! -s $PGDATA/PG_VERSION ]]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
        echo "docker-entrypoint.sh: set POSTGRES_PASSWORD for the superuser $POSTGRES_USER" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -D "$PGDATA"
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start
    export PGUSER=$POSTGRES_USER
    if [[ $POSTGRES_DB != postgres ]]; then
        psql -X -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sql) echo "docker-entrypoint.sh: running $f"
                psql -X -v ON_ERROR_STOP=1 -d "$POSTGRES_DB" -f "$f" ;;
            *.sh) echo "docker-entrypoint.sh: sourcing $f"
                # shellcheck disable=SC1090
                . "$f" ;;
            *) [[ -e $f ]] && echo "docker-entrypoint.sh: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGUSER
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
fi

exec "$@"
