#!/usr/bin/env bash
# Integration test: three `rlog node` processes on 127.0.0.1; order flow from the LOBSTER sample
# (looped to --count messages) is submitted through `rlog client` with retries; the leader is
# killed with SIGKILL mid-run and restarted on the same data directory. Afterwards `rlog check`
# must find every acknowledged message on every replica exactly once, at its acknowledged
# sequence number, with gapless sequence numbers, and the client must have had every message
# acknowledged.
#
# Usage: kill_leader_test.sh RLOG_BINARY LOBSTER_FILE [MESSAGES]
set -euo pipefail

rlog=$1
lobster=$2
count=${3:-20000}
work=$(mktemp -d /tmp/rlog-it-XXXXXX)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${RLOG_KEEP:-0}" = 1 ] || [ "${failed:-0}" = 1 ]; then
    echo "run directory kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
fail() { failed=1; echo "FAIL: $*"; for f in "$work"/node-*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }

# A base port in a quiet range, different per run; six consecutive ports are used.
base=$(( 20000 + (RANDOM % 2000) * 6 ))
"$rlog" config --replicas 3 --base-port "$base" --data-dir "$work/data-{id}" > "$work/cluster.conf"
echo "config: $work/cluster.conf (base port $base)"

start_node() {
  local id=$1
  "$rlog" --log-file "$work/node-$id.log" node --config "$work/cluster.conf" --id "$id" &
  pids[$id]=$!
}

# Prints the id of the replica that most recently logged itself leader in the highest term.
current_leader() {
  { grep -h "role=leader" "$work"/node-*.log 2>/dev/null || true; } |
    sed -E 's/.*node=([0-9]+) term=([0-9]+) role=leader.*/\2 \1/' | sort -n | tail -n 1 |
    awk '{print $2}'
}

for id in 1 2 3; do start_node "$id"; done
for _ in $(seq 100); do
  leader=$(current_leader)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "${leader:-}" ] || fail "no leader elected within 10 s"
echo "first leader: $leader"

"$rlog" client --config "$work/cluster.conf" --lobster "$lobster" --count "$count" \
  --outstanding 8 --retry-ms 150 --timeout 120 --acks "$work/acks.txt" > "$work/client.out" 2>&1 &
client=$!

# Kill the leader once a fifth of the messages are acknowledged.
for _ in $(seq 600); do
  acked=$(grep -vc '^#' "$work/acks.txt" 2>/dev/null || true)
  [ "${acked:-0}" -ge $((count / 5)) ] && break
  sleep 0.05
done
echo "killing leader $leader (pid ${pids[$leader]}) after ${acked:-0} acks"
kill -9 "${pids[$leader]}"
wait "${pids[$leader]}" 2>/dev/null || true
sleep 1
echo "restarting replica $leader"
start_node "$leader"

if ! wait "$client"; then
  cat "$work/client.out"
  fail "the client did not get every message acknowledged"
fi
cat "$work/client.out"
acked=$(grep -vc '^#' "$work/acks.txt" || true)
[ "$acked" -eq "$count" ] || fail "expected $count acknowledgements, found $acked"

new_leader=$(current_leader)
echo "leader after the kill: $new_leader"
grep -q "role=leader" "$work"/node-*.log || fail "no leader line in the logs"

"$rlog" check --config "$work/cluster.conf" --acks "$work/acks.txt" --timeout 30 \
  > "$work/check.out" 2>&1 || { cat "$work/check.out"; fail "rlog check found violations"; }
cat "$work/check.out"
grep -q ": 0 violations" "$work/check.out" || fail "check output does not report 0 violations"
echo "PASS"
