#!/usr/bin/env bash
# Integration test: kill_leader_test.sh (three `rlog node` processes, the leader killed with
# SIGKILL mid-run and restarted, then `rlog check`) over the af_packet or dpdk transport. The
# replicas talk raw Ethernet on a private segment: a network namespace created here with a bridge
# and one veth interface per replica (MACs 02:72:6c:00:00:0N), deleted at the end, also on
# failure. Every rlog command runs inside the namespace through a small wrapper, which also adds
# the transport, the MACs and interfaces (and for dpdk the EAL arguments: --no-huge --no-pci,
# one net_af_packet device per interface) to the generated configuration.
#
# Usage: l2_kill_leader_test.sh af_packet|dpdk RLOG_BINARY LOBSTER_FILE [MESSAGES]
# Exit status 77 (skipped) where network namespaces cannot be created.
set -euo pipefail

transport=$1
rlog=$(readlink -f "$2")
lobster=$3
count=${4:-20000}
here=$(cd "$(dirname "$0")" && pwd)
ns="rlogdp-$$-it"
work=$(mktemp -d /tmp/rlog-l2-XXXXXX)

cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$ns" 2>/dev/null; then
  echo "SKIP: creating network namespaces needs root"
  exit 77
fi
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link add rlbr mtu 9000 type bridge stp_state 0 forward_delay 0
ip -n "$ns" link set rlbr up
# dpdk: each replica process gets its own EAL arguments with only its own device (a process
# probing the others' devices too can collide with them on AF_PACKET fan-out groups).
eal='"--no-huge", "--no-pci", "--no-shconf", "-m", "256", "--no-telemetry", "--log-level=lib.eal:error"'
for i in 0 1 2; do
  ip -n "$ns" link add "rlp$i" mtu 9000 address "02:72:6c:00:00:0$((i + 1))" type veth \
    peer name "rlb$i" mtu 9000
  ip -n "$ns" link set "rlb$i" master rlbr
  ip -n "$ns" link set "rlb$i" up
  ip -n "$ns" link set "rlp$i" up
done

# The wrapper: `config` output gets the transport keys; everything runs in the namespace.
export RLOG_L2_NS=$ns RLOG_L2_REAL=$rlog RLOG_L2_TRANSPORT=$transport RLOG_L2_EAL=$eal
cat > "$work/rlog" <<'WRAP'
#!/usr/bin/env bash
if [ "${1:-}" = config ]; then
  set -o pipefail
  ip netns exec "$RLOG_L2_NS" "$RLOG_L2_REAL" "$@" |
    awk -v t="$RLOG_L2_TRANSPORT" -v eal="$RLOG_L2_EAL" '
      /^transport = / { printf "transport = \"%s\"\n", t; next }
      /^id = / {
        print; id = $3
        printf "mac = \"02:72:6c:00:00:0%d\"\ninterface = \"rlp%d\"\n", id, id - 1
        printf "dpdk_port = \"net_af_packet%d\"\n", id - 1
        if (t == "dpdk") printf "eal_args = [%s, \"--vdev=net_af_packet%d,iface=rlp%d,blocksz=16384,framesz=16384,framecnt=512\"]\n", eal, id - 1, id - 1
        next
      }
      { print }'
  exit $?
fi
exec ip netns exec "$RLOG_L2_NS" "$RLOG_L2_REAL" "$@"
WRAP
chmod +x "$work/rlog"
"$here/kill_leader_test.sh" "$work/rlog" "$lobster" "$count"
