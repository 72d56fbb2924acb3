#!/usr/bin/env bash
# Soak test: ingest plus claim/complete load against the release server on
# loopback for MINUTES (default 10), printing a sample line every
# SAMPLE_SECS (default 10) with rates, queue depth and the server's RSS, and
# a verdict on whether RSS levelled off.
#
# Usage: scripts/soak.sh [MINUTES]
# Env:   SAMPLE_SECS, INGEST_RATE (per second, default 200; 0 = unthrottled),
#        INGESTERS / CLAIMERS (concurrent loops, default 16 / 32),
#        DATA_DIR (default: a new temp dir, removed afterwards).
set -euo pipefail
source "$(dirname "$0")/common.sh"

minutes=${1:-10}
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "usage: $0 [MINUTES]" >&2; exit 2; }

build_release >&2
scratch=$(mktemp -d /tmp/triage-soak.XXXXXX)
data_dir=${DATA_DIR:-$scratch/data}
cleanup() {
    stop_server
    rm -rf "$scratch"
}
trap cleanup EXIT

start_server "$data_dir" "$scratch/server"
echo "server pid $SERVER_PID on $SERVER_ADDR (started in ${STARTUP_SECS}s); soaking for $minutes min" >&2
"$(release_dir)/triage-loadgen" soak --target "http://$SERVER_ADDR" \
    --duration-secs $((minutes * 60)) --sample-secs "${SAMPLE_SECS:-10}" \
    --server-pid "$SERVER_PID" --ingest-rate "${INGEST_RATE:-200}" \
    --ingesters "${INGESTERS:-16}" --claimers "${CLAIMERS:-32}"
