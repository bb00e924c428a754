# Sourced by deploy/scripts/netns-cluster and deploy/scripts/cluster-proofs: a Hera cluster on
# this machine made of network namespaces joined by a bridge, each "host" with its own address:
#   bridge hera-br0 10.77.0.1 (the root namespace: load balancer, test clients)
#   hera-pg 10.77.0.10 (PostgreSQL :5432)  hera-gw1 .11, hera-gw2 .12 (gateways :8080)
#   hera-node1 .21 (node type type-a), hera-node2 .22 (type-b)
# Namespaces are entered with `nsenter --net` only (which execs, so $! is the server's pid), so /sys (and the cgroup mounts) stay the host's.
# cluster_up starts it all; cluster_down (run by the caller's EXIT trap) removes every trace.
set -euo pipefail
HERA_BIN=${HERA_BIN:-$PWD/.build/debug/hera}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
NET=10.77.0
BRIDGE=hera-br0
HOSTS=(pg:10 gw1:11 gw2:12 node1:21 node2:22)
DB_URL="postgresql://postgres@$NET.10:5432/hera?connect_timeout=2"
STATE=""
GUARD=""
declare -A PIDS=()

# time_limit S: the whole script is stopped (and cleaned up by its trap) after S seconds.
time_limit() {
    (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$1" & sleeper=$!
        wait "$sleeper"
        echo "FAILED: time limit of $1 s reached" >&2
        kill -TERM $$
    ) & GUARD=$!
}

log() { printf '== %s\n' "$*" >&2; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
in_ns() { local ns=$1; shift; nsenter --net=/run/netns/hera-"$ns" -- "$@"; }
as_postgres() { runuser -u postgres -- "$@"; }
psql_db() { psql "$DB_URL" -v ON_ERROR_STOP=1 -qtAX "$@"; }

network_up() {
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    for host in "${HOSTS[@]}"; do
        local name=${host%%:*} octet=${host##*:}
        ip netns add "hera-$name"
        ip link add "hv-$name" type veth peer name eth0 netns "hera-$name"
        ip link set "hv-$name" master "$BRIDGE" up
        ip -n "hera-$name" addr add "$NET.$octet/24" dev eth0
        ip -n "hera-$name" link set eth0 up
        ip -n "hera-$name" link set lo up
    done
}

postgres_start() { in_ns pg runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/postgres.log" -w -t 30 \
        -o "-k $STATE/pg/socket -c listen_addresses=$NET.10 -c max_connections=300 -c fsync=off" start >/dev/null; }
postgres_stop() { as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null; }

postgres_up() {
    mkdir -p "$STATE/pg/socket"
    chown -R postgres: "$STATE/pg"
    as_postgres "$PG_BIN/initdb" -D "$STATE/pg/data" -U postgres -A trust --no-sync >/dev/null
    echo "host all all $NET.0/24 trust" >>"$STATE/pg/data/pg_hba.conf"
    postgres_start
    as_postgres "$PG_BIN/createdb" -h "$STATE/pg/socket" hera
}

# gateway_start N: gateway N (1 or 2) in hera-gwN on :8080.
gateway_start() {
    local n=$1
    nsenter --net=/run/netns/hera-gw"$n" -- "$HERA_BIN" gateway --host "$NET.1$n" --port 8080 --database-url "$DB_URL" \
        --drain-seconds 3 --stop-grace 10 >>"$STATE/gw$n.log" 2>&1 &
    PIDS[gw$n]=$!
    wait_ready "http://$NET.1$n:8080/readyz" || fail "gateway $n did not become ready: $(tail -5 "$STATE/gw$n.log")"
}

# node_start N: node N in hera-nodeN, type type-a (1) or type-b (2), metrics on :9101 of its address.
node_start() {
    local n=$1 type; type=$([ "$n" = 1 ] && echo type-a || echo type-b)
    nsenter --net=/run/netns/hera-node"$n" -- "$HERA_BIN" node --name "netns-node$n" --node-type "$type" --address "$NET.2$n" \
        --memory-mb 2048 --slots 32 --database-url "$DB_URL" --scratch-root "$STATE/scratch$n" \
        --metrics-host "$NET.2$n" --metrics-port 9101 >>"$STATE/node$n.log" 2>&1 &
    PIDS[node$n]=$!
}

wait_ready() {
    for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

cluster_up() {
    [ "$(id -u)" = 0 ] || fail "run as root (namespaces, cgroups, PostgreSQL as the postgres user)"
    [ -x "$HERA_BIN" ] || fail "no hera binary at $HERA_BIN (swift build first)"
    STATE=$(mktemp -d /tmp/hera-netns.XXXXXX)
    chmod 755 "$STATE"
    network_up
    postgres_up
    "$HERA_BIN" migrate --database-url "$DB_URL" >/dev/null 2>"$STATE/migrate.log"
    ACCOUNT=ops
    KEY=$("$HERA_BIN" account create "$ACCOUNT" --database-url "$DB_URL" 2>>"$STATE/admin.log")
    "$HERA_BIN" template build-default "$STATE/busybox" >/dev/null 2>>"$STATE/admin.log"
    "$HERA_BIN" template add busybox --rootfs "$STATE/busybox" --public --min-memory-mb 16 \
        --database-url "$DB_URL" >/dev/null 2>>"$STATE/admin.log"
    gateway_start 1
    gateway_start 2
    node_start 1
    node_start 2
    for _ in $(seq 100); do
        [ "$(psql_db -c "SELECT count(*) FROM nodes WHERE heartbeat_at > now() - interval '5 s'")" = 2 ] && break
        sleep 0.1
    done
    log "cluster up in $STATE: PostgreSQL $NET.10, gateways $NET.11 $NET.12, nodes $NET.21 $NET.22"
}

# cluster_down [STATUS]: STATUS defaults to the exit status the trap saw.
cluster_down() {
    local status=${1:-$?}
    set +e
    [ -n "$GUARD" ] && kill "$GUARD" 2>/dev/null
    for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null; done
    for name in "${!PIDS[@]}"; do timeout 30 tail --pid="${PIDS[$name]}" -f /dev/null; kill -KILL "${PIDS[$name]}" 2>/dev/null; done
    if [ -n "$STATE" ] && [ -f "$STATE/pg/data/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m immediate stop >/dev/null 2>&1
    fi
    for host in "${HOSTS[@]}"; do ip netns del "hera-${host%%:*}" 2>/dev/null; done
    ip link del "$BRIDGE" 2>/dev/null
    if [ "$status" != 0 ] && [ -n "$STATE" ]; then
        for file in "$STATE"/*.log; do echo "--- $file (last lines)" >&2; tail -15 "$file" >&2; done
    fi
    [ -n "$STATE" ] && rm -rf "$STATE"
    exit "$status"
}

# Reservations must equal the sums over each node's unfinished sandboxes; prints the mismatches.
reservation_mismatches() {
    psql_db -c "SELECT count(*) FROM (
        SELECT n.memory_reserved_mb, n.slots_reserved,
               coalesce(sum(s.reserved_memory_mb), 0) AS memory_sum, coalesce(sum(s.reserved_slots), 0) AS slots_sum
        FROM nodes n LEFT JOIN sandboxes s ON s.node_id = n.id AND s.state <> 'finished' GROUP BY n.id) r
        WHERE memory_reserved_mb <> memory_sum OR slots_reserved <> slots_sum"
}

# api METHOD URL [curl args…]: prints the JSON answer.
api() { local method=$1 url=$2; shift 2; curl -s --max-time 30 -u "$ACCOUNT:$KEY" -X "$method" "$url" "$@"; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1', ''))"; }
