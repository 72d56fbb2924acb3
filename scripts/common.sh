# Shared helpers for scripts/*.sh: building the release binaries and running
# the release server on a loopback port. Source it; do not run it.

# Where cargo puts the release binaries (honours CARGO_TARGET_DIR).
release_dir() {
    echo "${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target}/release"
}

# Builds the server and the load generator in release mode.
build_release() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && cargo build --release --bin triage --bin triage-loadgen)
}

# start_server DATA_DIR LOG_PREFIX: starts the release server on 127.0.0.1:0
# and waits for its "triage listening on" line. Sets SERVER_PID,
# SERVER_ADDR and STARTUP_SECS (from exec to the listening line).
start_server() {
    local data_dir=$1 prefix=$2 started now line
    started=$(date +%s%N)
    RUST_LOG=warn "$(release_dir)/triage" --data-dir "$data_dir" --listen 127.0.0.1:0 \
        >"$prefix.out" 2>"$prefix.err" &
    SERVER_PID=$!
    for _ in $(seq 1 60000); do
        line=$(grep -m1 '^triage listening on ' "$prefix.out" 2>/dev/null || true)
        if [[ -n $line ]]; then
            now=$(date +%s%N)
            SERVER_ADDR=${line#triage listening on }
            STARTUP_SECS=$(awk -v ns=$((now - started)) 'BEGIN { printf "%.2f", ns / 1e9 }')
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited before listening; see $prefix.err" >&2
            return 1
        fi
        sleep 0.01
    done
    echo "server did not listen within 10 minutes" >&2
    return 1
}

# Stops the server started by start_server (SIGTERM, then waits).
stop_server() {
    if [[ -n ${SERVER_PID:-} ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" || true
    fi
    SERVER_PID=
}

# proc_kib PID KEY: a kB figure from /proc/PID/status, in MiB with one decimal.
proc_mib() {
    awk -v key="$2:" '$1 == key { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
