#!/bin/sh
# One database per service, each owned by a role of its own (run once, on an empty data volume).
# Development passwords only: compose is for a laptop or a CI runner, never for real data.
set -eu
for service in registry entitlements relief notifications; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE ${service} LOGIN PASSWORD 'dev-${service}';
CREATE DATABASE ${service} OWNER ${service};
REVOKE ALL ON DATABASE ${service} FROM PUBLIC;
SQL
done
