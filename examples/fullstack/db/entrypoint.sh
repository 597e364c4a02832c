#!/bin/sh
# Start PostgreSQL 15 as the postgres user; on an empty data directory, create the cluster and the
# application database first (what the official image's entrypoint does, in a few lines).
set -eu
BIN=/usr/lib/postgresql/15/bin
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (see .env)}"
: "${POSTGRES_DB:=app}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "db: initialising a new cluster in $PGDATA"
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  chown postgres /tmp/pwfile
  as_postgres "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile=/tmp/pwfile \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "CREATE DATABASE $POSTGRES_DB;" | as_postgres "$BIN/postgres" --single -D "$PGDATA" postgres >/dev/null
  echo "db: created database $POSTGRES_DB"
else
  echo "db: reusing the existing cluster in $PGDATA"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
  "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
