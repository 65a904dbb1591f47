#!/bin/sh
# Initialise the cluster on first start (like the official image), then run
# the server in the foreground as user postgres, on 127.0.0.1:$PGPORT.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}" "${PGPORT:=5432}" "${POSTGRES_USER:=postgres}"
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "entrypoint: POSTGRES_PASSWORD must be set" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    as_postgres initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\";" |
            as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
    echo "entrypoint: initialised $PGDATA" >&2
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
    postgres -D "$PGDATA" -p "$PGPORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories=/run/postgresql "$@"
