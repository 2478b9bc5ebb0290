#!/bin/sh
# PostgreSQL the way the official postgres image starts it: POSTGRES_PASSWORD (required),
# POSTGRES_USER (postgres) and POSTGRES_DB (the user's name); the arguments go to postgres.
# The cluster is made on first start only, so a restarted container keeps its data.
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}
if [ ! -s "$data/PG_VERSION" ]; then
  password_file=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > "$password_file"
  "$bin/initdb" -D "$data" -U "$user" --pwfile="$password_file" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$password_file"
  printf 'host all all all scram-sha-256\nhost replication all all scram-sha-256\n' \
    >> "$data/pg_hba.conf"
  if [ "$database" != postgres ]; then
    "$bin/pg_ctl" -D "$data" -o "-c listen_addresses=''" -w start >/dev/null
    "$bin/createdb" -U "$user" "$database"
    "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  echo "postgres: made the cluster in $data (user $user, database $database)"
fi
exec "$bin/postgres" -D "$data" -c "listen_addresses=${POSTGRES_LISTEN:-*}" "$@"
