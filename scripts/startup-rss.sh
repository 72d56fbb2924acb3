#!/usr/bin/env bash
# Start-up time and RSS of the release server with N stored tickets.
#
# Usage: scripts/startup-rss.sh [N ...]      (default: 100000 1000000)
#
# For each N it fills a data dir with N ~1 KB tickets (triage-loadgen fill,
# through Store::ingest with group commit; kept and reused across runs),
# starts target/release/triage on it, times exec -> "triage listening on",
# reads VmRSS, runs a 10 s ingest burst at 64 in flight, and reads VmRSS and
# VmHWM again. Data dirs live under $WORK_DIR (default /tmp/triage-startup);
# delete it when done. Start-up is measured with the data in the page cache
# (just written); set COLD=1 to drop the page cache first (needs root).
set -euo pipefail
source "$(dirname "$0")/common.sh"

WORK_DIR=${WORK_DIR:-/tmp/triage-startup}
BURST_SECS=${BURST_SECS:-10}
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100000 1000000)

build_release >&2
loadgen="$(release_dir)/triage-loadgen"
mkdir -p "$WORK_DIR"
trap stop_server EXIT

rows=()
for n in "${sizes[@]}"; do
    dir="$WORK_DIR/tickets-$n"
    if [[ ! -f $dir.filled ]]; then
        rm -rf "$dir"
        echo "filling $dir with $n tickets ..." >&2
        "$loadgen" fill --data-dir "$dir" --tickets "$n" >&2
        touch "$dir.filled"
    fi
    size=$(du -sm "$dir" | cut -f1)
    if [[ ${COLD:-0} == 1 ]]; then
        sync && echo 3 >/proc/sys/vm/drop_caches
    fi
    start_server "$dir" "$WORK_DIR/server-$n"
    rss_idle=$(proc_mib "$SERVER_PID" VmRSS)
    echo "N=$n: listening on $SERVER_ADDR after ${STARTUP_SECS}s, RSS ${rss_idle} MiB; ingest burst ..." >&2
    "$loadgen" --target "http://$SERVER_ADDR" --mode ingest --in-flight 64 \
        --duration-secs "$BURST_SECS" >&2
    rss_burst=$(proc_mib "$SERVER_PID" VmRSS)
    hwm=$(proc_mib "$SERVER_PID" VmHWM)
    stop_server
    rows+=("$(printf '%10s %10s %12s %14s %16s %12s' "$n" "$size" "$STARTUP_SECS" "$rss_idle" "$rss_burst" "$hwm")")
done

printf '%10s %10s %12s %14s %16s %12s\n' tickets "data MiB" "startup s" "RSS idle MiB" "RSS burst MiB" "HWM MiB"
printf '%s\n' "${rows[@]}"
