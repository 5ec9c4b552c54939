#!/bin/sh
# Makes a namespace ready for lockkeys: creates it (with the retention below) when it is missing, then registers the
# search attributes every run carries, so the Web UI and `temporal workflow list --query 'LockId = 123'` can filter
# on them. Safe to run any number of times: what exists is left as it is.
#
# The one place these facts are written: docker-compose.yml's temporal-namespace job runs this file in the
# temporalio/admin-tools image, and `npm run dev -- --engine=postgres` runs it with the project's Temporal CLI.
# POSIX sh + the `temporal` CLI. Environment:
#   TEMPORAL_ADDRESS            frontend host:port                     (default temporal-frontend:7233)
#   TEMPORAL_NAMESPACE          namespace to prepare                   (default default)
#   TEMPORAL_CLI                the CLI to run                         (default temporal from PATH)
#   REGISTER_MAX_ATTEMPTS       tries before giving up on the server   (default 90)
#   REGISTER_RETRY_SECONDS      pause between tries                    (default 2)
set -eu

# Closed runs stay replayable (`temporal workflow show`) and idempotency keys remembered for a week.
retention="168h"
# name=type pairs; LockId and OrgId as SPEC "Workflow semantics" names them.
attributes="LockId=Int OrgId=Keyword"

address="${TEMPORAL_ADDRESS:-temporal-frontend:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
temporal="${TEMPORAL_CLI:-temporal}"
max_attempts="${REGISTER_MAX_ATTEMPTS:-90}"
retry_seconds="${REGISTER_RETRY_SECONDS:-2}"
errors="${TMPDIR:-/tmp}/register-search-attributes.$$.err"
trap 'rm -f "$errors"' EXIT

log() { echo "register-search-attributes: $*"; }

# present, missing (the server answers that it does not know the namespace) or unreachable.
namespace_state() {
  if "$temporal" operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>"$errors"; then
    echo present
  elif grep -qi 'not found' "$errors"; then
    echo missing
  else
    echo unreachable
  fi
}

# Prints the registered type of search attribute $1 (nothing when absent); fails while the namespace is not readable.
# Reads the CLI's table: a header row, then one "<Name> <Type>" row per attribute.
registered_type() {
  listing="$("$temporal" operator search-attribute list --address "$address" --namespace "$namespace" 2>"$errors")" || return 1
  printf '%s\n' "$listing" | awk -v name="$1" 'NR > 1 && $1 == name { print $2 }'
}

give_up() {
  log "gave up after $attempt attempts: $1:" >&2
  cat "$errors" >&2
  exit 1
}

# The server may still be starting (or migrating its schema): wait for an answer about the namespace.
attempt=1
while :; do
  state="$(namespace_state)"
  [ "$state" = present ] && break
  [ "$attempt" -ge "$max_attempts" ] && give_up "namespace '$namespace' on $address is not there"
  if [ "$state" = missing ]; then
    log "creating namespace '$namespace' (retention $retention)"
    # Another copy of this job may win the race; the next describe decides.
    "$temporal" operator namespace create --address "$address" --namespace "$namespace" --retention "$retention" \
      2>"$errors" || log "create did not succeed: $(tail -n 1 "$errors")"
  else
    log "waiting for namespace '$namespace' on $address (attempt $attempt/$max_attempts)"
    sleep "$retry_seconds"
  fi
  attempt=$((attempt + 1))
done

for attribute in $attributes; do
  name="${attribute%%=*}"
  type="${attribute#*=}"

  # A namespace created a moment ago may take a few seconds to reach every frontend's cache.
  attempt=1
  until current="$(registered_type "$name")"; do
    [ "$attempt" -ge "$max_attempts" ] && give_up "the search attributes of '$namespace' on $address do not answer"
    log "waiting for the search attributes of '$namespace' on $address (attempt $attempt/$max_attempts)"
    attempt=$((attempt + 1))
    sleep "$retry_seconds"
  done

  if [ "$current" = "$type" ]; then
    log "$name ($type) is already registered in '$namespace'; nothing to do"
    continue
  fi
  if [ -n "$current" ]; then
    # A search attribute's type cannot change in place; what happens to runs indexed by the old one is an operator's call.
    log "$name is registered in '$namespace' as $current, but lockkeys needs $type; remove it first" >&2
    exit 1
  fi

  log "registering $name ($type) in '$namespace'"
  if ! "$temporal" operator search-attribute create --address "$address" --namespace "$namespace" \
    --name "$name" --type "$type"; then
    # Another copy of this job may have won the race; the read-back below decides.
    log "create did not succeed; checking whether $name is registered anyway"
  fi

  # Read it back, so exit 0 means the gateway's first start with this attribute will be accepted.
  attempt=1
  until [ "$(registered_type "$name" || true)" = "$type" ]; do
    if [ "$attempt" -ge 10 ]; then
      log "$name does not read back as $type in '$namespace'" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 1
  done
  log "$name ($type) registered in '$namespace'"
done
