#!/bin/sh
# Creates Temporal's two PostgreSQL databases or migrates them to the schema of this temporal-sql-tool's server
# version (its schemas are built in: --schema-name). Safe to run any number of times: each step skips what exists.
#
# Runs in the temporalio/admin-tools image (docker-compose.yml's temporal-schema job) and on a developer machine
# (`npm run dev -- --engine=postgres`), with the same server version on both. Environment:
#   SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD   the PostgreSQL server (read by temporal-sql-tool itself)
#   TEMPORAL_SQL_TOOL                            the tool to run (default temporal-sql-tool from PATH)
set -eu

tool="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

log() { echo "setup-schema: $*"; }

# The database names are those of temporal/server/lockkeys.yaml.
for pair in temporal:temporal temporal_visibility:visibility; do
  database="${pair%%:*}"
  schema="postgresql/v12/${pair#*:}"
  log "database $database: create if missing, then migrate to the newest $schema"
  "$tool" --plugin postgres12 --db "$database" create
  "$tool" --plugin postgres12 --db "$database" setup-schema -v 0.0
  "$tool" --plugin postgres12 --db "$database" update-schema --schema-name "$schema"
done
log "done"
