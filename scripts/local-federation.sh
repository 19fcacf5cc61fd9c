#!/usr/bin/env bash
# Starts a local 3-node Causerie federation on loopback (the README's "try federation" section;
# specs/federation.md). Each node gets its own data directory under a temporary directory, its
# own p2p and HTTP ports; nodes 2 and 3 bootstrap to the full multiaddrs that node 1 (and 2)
# report on GET /api/v1/node. Ctrl-C (or SIGTERM) stops all three gracefully and removes the
# temporary directory (set KEEP_DATA=1 to keep it).
#
# Usage: scripts/local-federation.sh
# Environment: CAUSERIE_BIN (default: target/release/causerie, built if missing),
#              BASE_P2P_PORT (default 7450), BASE_HTTP_PORT (default 8450), NODES (default 3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${CAUSERIE_BIN:-$ROOT/target/release/causerie}"
BASE_P2P_PORT="${BASE_P2P_PORT:-7450}"
BASE_HTTP_PORT="${BASE_HTTP_PORT:-8450}"
NODES="${NODES:-3}"
# How long a node may take to answer its API after start (tenths of a second).
READY_TENTHS=300

for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
if [[ ! -x "$BIN" ]]; then
    echo "building the release binary ($BIN)..." >&2
    (cd "$ROOT" && cargo build --release -p causerie-node --bin causerie)
fi

WORK="$(mktemp -d -t causerie-federation.XXXXXX)"
PIDS=()

cleanup() {
    trap - INT TERM EXIT
    echo
    echo "stopping ${#PIDS[@]} nodes..."
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ "${KEEP_DATA:-0}" == 1 ]]; then
        echo "data kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup INT TERM EXIT

wait_ready() { # http address -> node info JSON on stdout
    local http="$1" i
    for ((i = 0; i < READY_TENTHS; i++)); do
        if info="$(curl -fsS "http://$http/api/v1/node" 2>/dev/null)"; then
            echo "$info"
            return 0
        fi
        sleep 0.1
    done
    echo "node at $http did not answer" >&2
    return 1
}

BOOTSTRAP=()
for ((n = 1; n <= NODES; n++)); do
    p2p=$((BASE_P2P_PORT + n - 1))
    http="127.0.0.1:$((BASE_HTTP_PORT + n - 1))"
    dir="$WORK/node$n"
    mkdir -p "$dir"
    args=(run --data-dir "$dir" --listen "/ip4/127.0.0.1/tcp/$p2p" --http "$http")
    for peer in "${BOOTSTRAP[@]}"; do args+=(--bootstrap "$peer"); done
    RUST_LOG="${RUST_LOG:-info}" "$BIN" "${args[@]}" >"$dir/log" 2>&1 &
    PIDS+=($!)
    info="$(wait_ready "$http")"
    addr="$(jq -r '.listen_addrs[0]' <<<"$info")"
    # The API reports full multiaddrs; keep exactly one /p2p/ suffix for --bootstrap.
    peer_id="$(jq -r '.peer_id' <<<"$info")"
    addr="${addr%%/p2p/*}/p2p/$peer_id"
    BOOTSTRAP+=("$addr")
    echo "node$n: peer $peer_id"
    echo "  p2p    $addr"
    echo "  api    http://$http/api/v1/node"
    echo "  metrics http://$http/metrics"
    echo "  data   $dir (log: $dir/log)"
done

# Wait until every node sees the others.
for ((n = 1; n <= NODES; n++)); do
    http="127.0.0.1:$((BASE_HTTP_PORT + n - 1))"
    for ((i = 0; i < READY_TENTHS; i++)); do
        peers="$(curl -fsS "http://$http/api/v1/node" | jq '.connected_peers | length')"
        [[ "$peers" -ge $((NODES - 1)) ]] && break
        sleep 0.1
    done
    echo "node$n connected to $peers peers"
done
echo
echo "federation running; Ctrl-C stops it."
wait
