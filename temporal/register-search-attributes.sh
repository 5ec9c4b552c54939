#!/bin/sh
# Registers the search attribute every lockkeys run carries (LockId, Int) in one namespace, so the Web UI
# and `temporal workflow list --query 'LockId = 123'` can filter on it. Safe to run any number of times.
#
# Runs in the temporalio/admin-tools image (POSIX sh + the `temporal` CLI). Environment:
#   TEMPORAL_ADDRESS            frontend host:port                     (default temporal:7233)
#   TEMPORAL_NAMESPACE          namespace to register in               (default default)
#   REGISTER_MAX_ATTEMPTS       tries before giving up on the server   (default 90)
#   REGISTER_RETRY_SECONDS      pause between tries                    (default 2)
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
max_attempts="${REGISTER_MAX_ATTEMPTS:-90}"
retry_seconds="${REGISTER_RETRY_SECONDS:-2}"
name="LockId"
type="Int"
errors="${TMPDIR:-/tmp}/register-search-attributes.$$.err"
trap 'rm -f "$errors"' EXIT

log() { echo "register-search-attributes: $*"; }

# Prints the registered type of $name (nothing when absent); fails while the server or namespace is not there.
# Reads the CLI's table: a header row, then one "<Name> <Type>" row per attribute.
registered_type() {
  listing="$(temporal operator search-attribute list --address "$address" --namespace "$namespace" 2>"$errors")" || return 1
  printf '%s\n' "$listing" | awk -v name="$name" 'NR > 1 && $1 == name { print $2 }'
}

# auto-setup creates the namespace only after the frontend serves: wait for the namespace, not just the port.
attempt=1
until current="$(registered_type)"; do
  if [ "$attempt" -ge "$max_attempts" ]; then
    log "gave up after $attempt attempts: namespace '$namespace' on $address does not answer:" >&2
    cat "$errors" >&2
    exit 1
  fi
  log "waiting for namespace '$namespace' on $address (attempt $attempt/$max_attempts)"
  attempt=$((attempt + 1))
  sleep "$retry_seconds"
done

if [ "$current" = "$type" ]; then
  log "$name ($type) is already registered in '$namespace'; nothing to do"
  exit 0
fi
if [ -n "$current" ]; then
  # A search attribute's type cannot change in place; what happens to runs indexed by the old one is an operator's call.
  log "$name is registered in '$namespace' as $current, but lockkeys needs $type; remove it first" >&2
  exit 1
fi

log "registering $name ($type) in '$namespace'"
if ! temporal operator search-attribute create --address "$address" --namespace "$namespace" \
  --name "$name" --type "$type"; then
  # Another copy of this job may have won the race; the read-back below decides.
  log "create did not succeed; checking whether $name is registered anyway"
fi

# Read it back, so exit 0 means the gateway's first start with LockId will be accepted.
attempt=1
until [ "$(registered_type || true)" = "$type" ]; do
  if [ "$attempt" -ge 10 ]; then
    log "$name does not read back as $type in '$namespace'" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 1
done
log "$name ($type) registered in '$namespace'"
