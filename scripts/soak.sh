#!/usr/bin/env bash
# Soak test: a cluster of real `rlog node` processes, each in its own network namespace joined to
# a private bridge by a veth pair, driven by `rlog client` (from its own namespace) while a fault
# schedule drawn from a seed crashes, pauses and cuts off replicas, damages the network and fills
# or stalls a disk. At the end everything is healed, the cluster settles, the live check
# (`rlog check --config`) and the offline check of every data directory (`rlog check --data-dir`)
# run, and a report (report.txt, report.svg) is written to the run directory.
#
# Usage: scripts/soak.sh [options]            (as root: namespaces, nftables, loop mounts)
#   --replicas 3|5        cluster size (default 3)
#   --duration S          seconds of load and faults (default 120)
#   --seed N              fault schedule, client id and fault parameters (default: random)
#   --faults LIST         comma list of kill,pause,partition,loss,delay,dup,reorder,diskfull,
#                         diskstall (default kill,pause,partition); "all" for every kind
#   --rate R              messages per second submitted by the client (default 2000)
#   --transport udp       peer transport (only udp exists)
#   --lobster FILE        order flow (default ../shared/data/AAPL_..._message_10.csv from the repo)
#   --run-dir DIR         where logs, schedule, acks and report go (default /tmp/rlog-soak-TAG)
#   --rlog BINARY         the rlog binary (default build/release/node/rlog)
#   --keep                keep the data directories (default: kept only if a check fails)
# Exit status: 0 both checks passed, 1 a check failed (violations; run directory kept), 2 usage
# or environment error.
#
# Network: addresses 10.201.0.0/24 exist only inside the namespaces this script creates (named
# rlogsoak-<seed>-<pid>-*); the bridge namespace has no uplink, so no packet leaves the machine.
# Faults act on that path with nftables (drops, random loss, duplication) and, when the kernel has
# sch_netem, tc netem (delay, reorder). Kinds the machine cannot do for real (netem missing:
# delay and reorder) are refused at start with the reason, never faked.
# Clean-up (exit, Ctrl-C, TERM): processes started here, namespaces, the mount and the image.
# Leftovers of a run that was killed with SIGKILL are removed by the next run (their owner pid
# is dead).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
replicas=3
duration=120
seed=""
faults="kill,pause,partition"
rate=2000
transport=udp
lobster="$repo/../shared/data/AAPL_2012-06-21_34200000_57600000_message_10.csv"
run_dir=""
rlog="$repo/build/release/node/rlog"
keep=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "soak: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --lobster) lobster=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --rlog) rlog=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "soak: unknown option $1" >&2; usage ;;
  esac
done

[ -z "$seed" ] && seed=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
faults_arg=$faults
all_faults=0
if [ "$faults" = all ]; then
  faults="kill,pause,partition,loss,delay,dup,reorder,diskfull,diskstall"
  all_faults=1  # Kinds this machine cannot do are left out (with the reason), not refused.
fi
[[ "$replicas" =~ ^(3|5)$ ]] || die "--replicas must be 3 or 5"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 10 ] || die "--duration must be >= 10 seconds"
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ "$rate" =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ] || die "--rate must be a positive integer"
[ "$transport" = udp ] || die "--transport: only udp exists"
[ -x "$rlog" ] || die "no rlog binary at $rlog (build it: scripts/build.sh release, or --rlog)"
[ -f "$lobster" ] || die "no LOBSTER file at $lobster (--lobster FILE)"
rlog=$(cd "$(dirname "$rlog")" && pwd)/$(basename "$rlog")
lobster=$(cd "$(dirname "$lobster")" && pwd)/$(basename "$lobster")

echo "reproduce: $0 --replicas $replicas --duration $duration --seed $seed --faults $faults_arg" \
  "--rate $rate --transport $transport --lobster $lobster --rlog $rlog"

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, nftables, loop mounts)"
for tool in ip nft python3 mkfs.ext4 mount umount; do
  command -v "$tool" >/dev/null || die "missing $tool (scripts/setup.sh installs it)"
done

tag="rlogsoak-$seed-$$"
run_dir=${run_dir:-/tmp/rlog-soak-$seed-$$}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
data_root="$run_dir/data"
mkdir -p "$data_root"
img="$run_dir/$tag.img"
mnt_id=$replicas  # The replica whose data directory lives on the small image.
cgroup_dir="/sys/fs/cgroup/blkio/$tag"
net_prefix=10.201.0
client_ns="$tag-c"
bridge_ns="$tag-br"
declare -a pids=()
client_pid=""
mounted=0
status_tty=0
[ -t 1 ] && status_tty=1

# --- clean-up ----------------------------------------------------------------------------------
remove_namespaces() {  # $1: tag
  local ns p
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1-" || true); do
    for p in $(ip netns pids "$ns" 2>/dev/null || true); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ "$status_tty" = 1 ] && printf '\n'
  for p in "${pids[@]}" $client_pid; do
    [ -n "$p" ] && { kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; }
  done
  wait 2>/dev/null || true
  remove_namespaces "$tag"
  if [ "$mounted" = 1 ]; then umount -l "$data_root/data-$mnt_id" 2>/dev/null || true; fi
  rm -f "$img"
  [ -d "$cgroup_dir" ] && rmdir "$cgroup_dir" 2>/dev/null || true
  if [ "$rc" -eq 0 ] && [ "$keep" = 0 ]; then
    rm -rf "$data_root"
  fi
  echo "run directory: $run_dir (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of soak runs whose script was killed with SIGKILL (owner pid gone).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rlogsoak-' || true); do
  owner=$(echo "$ns" | sed -E 's/^rlogsoak-[0-9]+-([0-9]+)-.*/\1/')
  if ! kill -0 "$owner" 2>/dev/null; then
    echo "removing leftover namespace $ns (owner $owner is gone)"
    remove_namespaces "rlogsoak-$(echo "$ns" | cut -d- -f2)-$owner"
  fi
done
# Their disk images: loop devices backed by rlogsoak-<seed>-<pid>.img.
while read -r dev back; do
  [[ "$(basename "${back:-x}")" =~ ^rlogsoak-[0-9]+-([0-9]+)\.img$ ]] || continue
  kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
  for m in $(awk -v d="$dev" '$1 == d {print $2}' /proc/mounts); do
    echo "unmounting leftover $m"
    umount -l "$m" || true
  done
  losetup -d "$dev" 2>/dev/null || true
  rm -f "$back"
done < <(losetup -n -O NAME,BACK-FILE 2>/dev/null || true)
for d in /sys/fs/cgroup/blkio/rlogsoak-*; do
  [ -d "$d" ] || continue
  owner=$(basename "$d" | cut -d- -f3)
  kill -0 "$owner" 2>/dev/null || rmdir "$d" 2>/dev/null || true
done

# --- which fault kinds this machine can do for real ---------------------------------------------
ip netns add "$bridge_ns"
ip -n "$bridge_ns" link set lo up
ip -n "$bridge_ns" link add br0 mtu 9000 type bridge
ip -n "$bridge_ns" link set br0 up
have_netem=0
ip -n "$bridge_ns" link add probe0 type veth peer name probe1
if ip netns exec "$bridge_ns" tc qdisc add dev probe0 root netem delay 1ms 2>/dev/null; then
  have_netem=1
fi
ip -n "$bridge_ns" link del probe0
have_blkio=0
[ -f /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device ] && have_blkio=1

kinds=()
IFS=, read -r -a requested <<< "$faults"
for k in "${requested[@]}"; do
  case "$k" in
    kill|pause|partition|loss|dup|diskfull) kinds+=("$k") ;;
    delay|reorder)
      if [ "$have_netem" = 1 ]; then kinds+=("$k")
      elif [ "$all_faults" = 1 ]; then
        echo "soak: fault '$k' left out: unsupported here, the kernel has no sch_netem" \
          "(CONFIG_NET_SCH_NETEM)" | tee -a "$run_dir/unsupported.txt"
      else
        die "fault '$k' unsupported here: the kernel has no sch_netem (CONFIG_NET_SCH_NETEM);" \
          "drop it from --faults"
      fi ;;
    diskstall)
      if [ "$have_blkio" = 1 ]; then kinds+=("$k")
      elif [ "$all_faults" = 1 ]; then
        echo "soak: fault 'diskstall' left out: unsupported here, no cgroup v1 blkio throttling" \
          | tee -a "$run_dir/unsupported.txt"
      else
        die "fault 'diskstall' unsupported here: no cgroup v1 blkio throttling" \
          "(blkio.throttle.write_iops_device); drop it from --faults"
      fi ;;
    *) die "unknown fault kind '$k'" ;;
  esac
done
[ ${#kinds[@]} -gt 0 ] || die "no fault kinds"

# --- network: one namespace per replica and one for the client, all on br0 ----------------------
add_host() {  # $1: namespace suffix, $2: last address byte
  local ns="$tag-$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # MTU 9000: peer datagrams (mtu_bytes 8192) are never fragmented, as on loopback.
  ip -n "$bridge_ns" link add "p$1" mtu 9000 type veth peer name eth0 mtu 9000 netns "$ns"
  ip -n "$bridge_ns" link set "p$1" master br0
  ip -n "$bridge_ns" link set "p$1" up
  ip -n "$ns" addr add "$net_prefix.$2/24" dev eth0
  ip -n "$ns" link set eth0 up
  # An empty filter table: faults add rules to these chains and flush them to heal.
  ip netns exec "$ns" nft -f - <<'EOF'
table inet soak {
  chain out { type filter hook output priority 0; policy accept; }
  chain in { type filter hook input priority 0; policy accept; }
}
table ip soakdup {
  chain out { type filter hook output priority 0; policy accept; }
}
EOF
}
for i in $(seq "$replicas"); do add_host "$i" "$i"; done
add_host c 100

# --- data directories: replica $mnt_id on a small ext4 image (diskfull, diskstall) ---------------
segment_bytes=$((1 << 20))
for i in $(seq "$replicas"); do mkdir -p "$data_root/data-$i"; done
if [[ " ${kinds[*]} " == *" diskfull "* || " ${kinds[*]} " == *" diskstall "* ]]; then
  # Room for the whole run's log (about 200 bytes per message with headers and slack) plus 64 MiB.
  img_mb=$(( duration * rate * 200 / 1048576 + 64 ))
  truncate -s "${img_mb}M" "$img"
  mkfs.ext4 -q -F -m 0 "$img"
  mount -o loop "$img" "$data_root/data-$mnt_id"
  mounted=1
fi

cat > "$run_dir/cluster.conf" <<EOF
cluster_id = 1
data_dir = "$data_root/data-{id}"
election_timeout_min_ms = 150
election_timeout_max_ms = 300
heartbeat_interval_ms = 30
fsync = true
transport = "$transport"
segment_size_bytes = $segment_bytes
EOF
for i in $(seq "$replicas"); do
  cat >> "$run_dir/cluster.conf" <<EOF

[[replica]]
id = $i
host = "$net_prefix.$i"
raft_port = 7000
client_port = 7001
EOF
done

# --- processes ----------------------------------------------------------------------------------
start_node() {
  local id=$1
  echo "$(date +%s.%N) start $id" >> "$run_dir/events.log"
  ip netns exec "$tag-$id" "$rlog" --log-file "$run_dir/node-$id.log" node \
    --config "$run_dir/cluster.conf" --id "$id" 2>> "$run_dir/node-$id.stderr" &
  pids[$id]=$!
  if [ "$id" = "$mnt_id" ] && [ -d "$cgroup_dir" ]; then
    echo "${pids[$id]}" > "$cgroup_dir/cgroup.procs" 2>/dev/null || true
  fi
}
alive() { [ -n "${pids[$1]:-}" ] && kill -0 "${pids[$1]}" 2>/dev/null; }

# "term leader" of the newest leader line in the logs.
leader_term() {
  { grep -h "role=leader" "$run_dir"/node-*.log 2>/dev/null || true; } |
    sed -nE 's/.*node=([0-9]+) term=([0-9]+) role=leader.*/\2 \1/p' | sort -n | tail -n 1
}
current_leader() { leader_term | awk '{print $2}'; }

if [ -f /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device ] &&
   [[ " ${kinds[*]} " == *" diskstall "* ]]; then
  mkdir -p "$cgroup_dir"
fi
for i in $(seq "$replicas"); do start_node "$i"; done
for _ in $(seq 200); do [ -n "$(current_leader)" ] && break; sleep 0.05; done
[ -n "$(current_leader)" ] || { echo "soak: no leader within 10 s" >&2; exit 1; }

# --- the fault schedule, drawn from the seed ----------------------------------------------------
python3 - "$seed" "$duration" "$replicas" "${kinds[@]}" > "$run_dir/schedule.txt" <<'EOF'
import random, sys
seed, duration, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
kinds = sys.argv[4:]
rng = random.Random(seed)
print("# start_s length_s kind target detail   (target: leader, or a replica id)")
t = 5.0
while True:
    kind = rng.choice(kinds)
    length = round(rng.uniform(2.0, 6.0), 1)
    if t + length > duration - 3:
        break
    target = "leader" if rng.random() < 0.5 else str(rng.randint(1, n))
    detail = "-"
    if kind == "partition":
        detail = rng.choice(["isolate-leader", "split", "oneway", "bridge"])
        if detail == "isolate-leader":
            target = "leader"
    elif kind == "loss":
        detail = str(rng.choice([5, 10, 20, 40]))
    elif kind == "dup":
        detail = str(rng.choice([10, 30, 50]))
    elif kind == "delay":
        detail = str(rng.choice([5, 20, 50]))
    elif kind == "reorder":
        detail = str(rng.choice([10, 25, 50]))
    elif kind in ("diskfull", "diskstall"):
        target = str(n)
    elif kind == "pause":
        length = round(rng.uniform(0.6, 4.0), 1)  # election timeout max is 0.3 s
    print(f"{t:.1f} {length} {kind} {target} {detail}")
    t += length + round(rng.uniform(2.0, 5.0), 1)
EOF

ns_of() { echo "$tag-$1"; }
nft_in() { ip netns exec "$(ns_of "$1")" nft "${@:2}"; }
others() { for j in $(seq "$replicas"); do [ "$j" != "$1" ] && echo "$j"; done; }
block_pair() {  # $1 -> $2 blocked (one direction)
  nft_in "$1" add rule inet soak out ip daddr "$net_prefix.$2" drop
  nft_in "$2" add rule inet soak in ip saddr "$net_prefix.$1" drop
}
heal_network() {
  local i
  for i in $(seq "$replicas"); do
    nft_in "$i" flush chain inet soak out || true
    nft_in "$i" flush chain inet soak in || true
    nft_in "$i" flush chain ip soakdup out || true
    if [ "$have_netem" = 1 ]; then
      ip netns exec "$bridge_ns" tc qdisc del dev "p$i" root 2>/dev/null || true
    fi
  done
}
fault_text="none"
fault_kind=""
fault_target=""
filler=""

# Applies one scheduled fault; sets fault_text. Resolves "leader" now.
apply_fault() {  # kind target detail
  local kind=$1 target=$2 detail=$3 a b i j
  fault_kind=$kind
  [ "$target" = leader ] && target=$(current_leader)
  [ -n "$target" ] || target=1
  fault_target=$target
  case "$kind" in
    kill)
      if alive "$target"; then kill -9 "${pids[$target]}"; wait "${pids[$target]}" 2>/dev/null || true; fi
      fault_text="kill -9 replica $target" ;;
    pause)
      alive "$target" && kill -STOP "${pids[$target]}"
      fault_text="SIGSTOP replica $target" ;;
    partition)
      case "$detail" in
        isolate-leader|split)
          local minority=("$target")
          if [ "$replicas" = 5 ]; then
            for j in $(others "$target"); do minority+=("$j"); break; done
          fi
          for a in "${minority[@]}"; do
            for b in $(seq "$replicas"); do
              [[ " ${minority[*]} " == *" $b "* ]] && continue
              block_pair "$a" "$b"; block_pair "$b" "$a"
            done
          done
          fault_text="partition $detail {${minority[*]}} | rest" ;;
        oneway)
          for b in $(others "$target"); do block_pair "$target" "$b"; done
          fault_text="partition oneway: replica $target's packets to peers dropped" ;;
        bridge)
          # $target sees everyone; the others are split into two halves that cannot talk.
          local rest=($(others "$target")) half
          half=$(( ${#rest[@]} / 2 ))
          for ((i = 0; i < half; i++)); do
            for ((j = half; j < ${#rest[@]}; j++)); do
              block_pair "${rest[$i]}" "${rest[$j]}"; block_pair "${rest[$j]}" "${rest[$i]}"
            done
          done
          fault_text="partition bridge: {${rest[*]:0:half}} | $target | {${rest[*]:half}}" ;;
      esac ;;
    loss)
      for i in $(seq "$replicas"); do
        nft_in "$i" add rule inet soak in ip saddr "$net_prefix.0/24" numgen random mod 100 "<" "$detail" drop
      done
      fault_text="loss $detail% on every replica's input" ;;
    dup)
      for i in $(seq "$replicas"); do
        for j in $(others "$i"); do
          nft_in "$i" add rule ip soakdup out ip daddr "$net_prefix.$j" numgen random mod 100 "<" "$detail" dup to "$net_prefix.$j"
        done
      done
      fault_text="duplicate $detail% of peer packets" ;;
    delay)
      for i in $(seq "$replicas"); do
        ip netns exec "$bridge_ns" tc qdisc replace dev "p$i" root netem delay "${detail}ms" "$((detail / 2))ms"
      done
      fault_text="netem delay ${detail}ms" ;;
    reorder)
      for i in $(seq "$replicas"); do
        ip netns exec "$bridge_ns" tc qdisc replace dev "p$i" root netem delay 10ms reorder "$detail%" 50%
      done
      fault_text="netem reorder $detail%" ;;
    diskfull)
      filler="$data_root/data-$mnt_id/filler"
      fallocate -l "$(df --output=avail -B1 "$data_root/data-$mnt_id" | tail -1)" "$filler" 2>/dev/null ||
        dd if=/dev/zero of="$filler" bs=1M 2>/dev/null || true
      fault_text="disk full on replica $mnt_id" ;;
    diskstall)
      local dev
      dev=$(stat -c '%Hd:%Ld' "$data_root/data-$mnt_id")
      echo "$dev 1" > "$cgroup_dir/blkio.throttle.write_iops_device"
      echo "$dev 4096" > "$cgroup_dir/blkio.throttle.write_bps_device"
      fault_text="disk stall on replica $mnt_id (1 write IOPS, 4 KiB/s)" ;;
  esac
  echo "$(date +%s.%N) fault $kind $fault_text" >> "$run_dir/events.log"
}

heal_fault() {
  case "$fault_kind" in
    kill) start_node "$fault_target" ;;
    pause) alive "$fault_target" && kill -CONT "${pids[$fault_target]}" ;;
    partition|loss|dup|delay|reorder) heal_network ;;
    diskfull) rm -f "$filler" ;;
    diskstall)
      local dev
      dev=$(stat -c '%Hd:%Ld' "$data_root/data-$mnt_id")
      echo "$dev 0" > "$cgroup_dir/blkio.throttle.write_iops_device"
      echo "$dev 0" > "$cgroup_dir/blkio.throttle.write_bps_device" ;;
  esac
  # A replica that fail-stopped (e.g. on ENOSPC) is restarted once its fault is gone.
  local i
  for i in $(seq "$replicas"); do
    if ! alive "$i"; then
      echo "$(date +%s.%N) dead $i" >> "$run_dir/events.log"
      start_node "$i"
    fi
  done
  echo "$(date +%s.%N) heal $fault_kind" >> "$run_dir/events.log"
  fault_kind=""
  fault_text="none"
}

# --- the report: totals, elections, stalls, latency by fault kind, SVG timeline ------------------
soak_report() {  # run_dir check_rc
  python3 - "$@" <<'PYEOF'
import glob, os, re, sys
run, rc = sys.argv[1], int(sys.argv[2])
acks = []  # (acked_unix_s, latency_us)
for line in open(os.path.join(run, "acks.txt")):
    f = line.split()
    if len(f) >= 8 and not f[0].startswith("#"):
        acks.append((int(f[6]) / 1e6, int(f[7])))
acks.sort()
events = [l.split(None, 2) for l in open(os.path.join(run, "events.log")) if l.strip()]
t0 = next(float(e[0]) for e in events if e[1] == "load-start")
t1 = next((float(e[0]) for e in events if e[1] == "load-end"), acks[-1][0] if acks else t0)
faults = []  # [kind, text, start, end]
for e in events:
    if e[1] == "fault":
        kind, text = e[2].split(None, 1)
        faults.append([kind, text.strip(), float(e[0]), None])
    elif e[1] == "heal" and faults and faults[-1][3] is None:
        faults[-1][3] = float(e[0])
for f in faults:
    f[3] = f[3] or t1
restarts = sum(1 for e in events if e[1] == "dead")
terms = set()
for path in glob.glob(os.path.join(run, "node-*.log")):
    for line in open(path, errors="replace"):
        m = re.search(r"term=(\d+) role=leader", line)
        if m:
            terms.add(int(m.group(1)))

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]

def row(name, lat):
    if not lat:
        return f"  {name:<16} {0:>9}"
    return (f"  {name:<16} {len(lat):>9} {pct(lat,50)/1e3:>9.2f} {pct(lat,90)/1e3:>9.2f} "
            f"{pct(lat,99)/1e3:>9.2f} {pct(lat,99.9)/1e3:>9.2f} {max(lat)/1e3:>9.2f}")

times = [t0] + [a[0] for a in acks if t0 <= a[0] <= t1] + [t1]
gap, gap_at = 0.0, t0
for a, b in zip(times, times[1:]):
    if b - a > gap:
        gap, gap_at = b - a, a
settle = 2.0
steady = [lat for t, lat in acks if not any(f[2] <= t <= f[3] + settle for f in faults)]
by_kind = {}
for f in faults:
    by_kind.setdefault(f[0], []).extend(lat for t, lat in acks if f[2] <= t <= f[3] + settle)
counts = {}
for f in faults:
    key = f[0] + (" " + f[1].split()[1].rstrip(":") if f[0] == "partition" else "")
    counts[key] = counts.get(key, 0) + 1
sent = sum(1 for l in open(os.path.join(run, "sent.txt")) if l[:1].isdigit())
print(f"soak report: {run}")
print(f"  load {t1 - t0:.0f} s, {sent} messages submitted, {len(acks)} acknowledged "
      f"({len(acks) / max(t1 - t0, 1e-9):.0f}/s)")
print(f"  faults applied: {len(faults)} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
print(f"  replicas restarted after a fail-stop: {restarts}")
print(f"  elections (distinct leader terms): {len(terms)}, highest term {max(terms) if terms else 0}")
print(f"  longest window without a commit: {gap:.3f} s (from {gap_at - t0:.1f} s into the load)")
for name in ("check-live.out", "check-data.out"):
    p = os.path.join(run, name)
    if os.path.exists(p):
        for line in open(p):
            if line.startswith("check"):
                print(f"  {line.strip()}")
print(f"  verdict: {'PASS' if rc == 0 else 'FAIL (violations, see check-*.out)'}")
print("  latency, submit to acknowledgement, ms ('under X': acked during a fault of kind X or "
      f"within {settle:.0f} s after it):")
print(f"  {'':<16} {'acks':>9} {'p50':>9} {'p90':>9} {'p99':>9} {'p99.9':>9} {'max':>9}")
print(row("steady state", steady))
for k in sorted(by_kind):
    print(row("under " + k, by_kind[k]))

# SVG: commits per second, faults as shaded spans (hover for the fault).
secs = int(t1 - t0) + 1
per_s = [0] * secs
for t, _ in acks:
    i = int(t - t0)
    if 0 <= i < secs:
        per_s[i] += 1
top = max(per_s + [1])
W, H, L, B = 1000, 320, 60, 40
x = lambda s: L + s * (W - L - 20) / max(secs, 1)
y = lambda v: H - B - v * (H - B - 30) / top
colors = {"kill": "#e57373", "pause": "#ffb74d", "partition": "#64b5f6", "loss": "#81c784",
          "delay": "#ba68c8", "dup": "#4db6ac", "reorder": "#f06292", "diskfull": "#a1887f",
          "diskstall": "#90a4ae"}
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
       'font-family="sans-serif" font-size="11">',
       f'<text x="{L}" y="16">commits per second, {os.path.basename(run)}; shaded: faults</text>']
for f in faults:
    a, b = x(f[2] - t0), x(f[3] - t0)
    out.append(f'<rect x="{a:.1f}" y="24" width="{max(b - a, 1):.1f}" height="{H - B - 24}" '
               f'fill="{colors.get(f[0], "#ccc")}" opacity="0.4"><title>{f[1]}</title></rect>')
pts = " ".join(f"{x(i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(per_s))
out.append(f'<polyline points="{pts}" fill="none" stroke="#000" stroke-width="1.2"/>')
out.append(f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="#000"/>')
out.append(f'<line x1="{L}" y1="24" x2="{L}" y2="{H - B}" stroke="#000"/>')
out.append(f'<text x="5" y="{y(top) + 4:.0f}">{top}/s</text><text x="5" y="{H - B + 4}">0</text>')
for s in range(0, secs, max(1, secs // 10)):
    out.append(f'<text x="{x(s):.0f}" y="{H - B + 15}">{s}s</text>')
lx = L
for k, c in colors.items():
    out.append(f'<rect x="{lx}" y="{H - 16}" width="10" height="10" fill="{c}" opacity="0.6"/>'
               f'<text x="{lx + 13}" y="{H - 7}">{k}</text>')
    lx += 95
out.append("</svg>")
open(os.path.join(run, "report.svg"), "w").write("\n".join(out) + "\n")
print(f"  timeline: {os.path.join(run, 'report.svg')}")
PYEOF
}

# --- load and the fault loop --------------------------------------------------------------------
: > "$run_dir/acks.txt"
: > "$run_dir/sent.txt"
ip netns exec "$client_ns" "$rlog" client --config "$run_dir/cluster.conf" --lobster "$lobster" \
  --count 1000000000000 --rate "$rate" --outstanding 256 --retry-ms 200 --timeout "$duration" \
  --client-id $((seed + 1)) --bind "$net_prefix.100" --acks "$run_dir/acks.txt" --sent "$run_dir/sent.txt" \
  > "$run_dir/client.out" 2>&1 &
client_pid=$!
start=$(date +%s.%N)
echo "$start load-start" >> "$run_dir/events.log"

mapfile -t schedule < <(grep -v '^#' "$run_dir/schedule.txt")
next=0
fault_end=0
last_acks=0
last_status=0
start_ns=$(date +%s%N)
while true; do
  now_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  [ "$now_ms" -ge $((duration * 1000)) ] && break
  if [ -n "$fault_kind" ] && [ "$now_ms" -ge "$fault_end" ]; then heal_fault; fi
  if [ -z "$fault_kind" ] && [ "$next" -lt ${#schedule[@]} ]; then
    read -r f_start f_len f_kind f_target f_detail <<< "${schedule[$next]}"
    f_start_ms=$(python3 -c "print(int($f_start*1000))")
    if [ "$now_ms" -ge "$f_start_ms" ]; then
      apply_fault "$f_kind" "$f_target" "$f_detail"
      fault_end=$(( now_ms + $(python3 -c "print(int($f_len*1000))") ))
      next=$((next + 1))
    fi
  fi
  if [ $((now_ms - last_status)) -ge 1000 ]; then
    acks=$(grep -vc '^#' "$run_dir/acks.txt" || true)
    lt=$(leader_term)
    line=$(printf '%4ds/%ds  %6d commits/s  acked %8d  leader %s term %s  fault: %s' \
      $((now_ms / 1000)) "$duration" $(( (acks - last_acks) * 1000 / (now_ms - last_status) )) \
      "$acks" "${lt#* }" "${lt% *}" "$fault_text")
    if [ "$status_tty" = 1 ]; then printf '\r\033[K%s' "$line"
    elif [ $((now_ms / 1000 % 10)) -eq 0 ]; then echo "$line"; fi
    last_acks=$acks
    last_status=$now_ms
  fi
  sleep 0.1
done
[ -n "$fault_kind" ] && heal_fault
heal_network
[ "$status_tty" = 1 ] && printf '\n'
echo "$(date +%s.%N) load-end" >> "$run_dir/events.log"
wait "$client_pid" 2>/dev/null || true  # exits 1: the load was open-ended
client_pid=""
cat "$run_dir/client.out"

# --- settle, check live, stop, check the data directories ---------------------------------------
for i in $(seq "$replicas"); do alive "$i" || start_node "$i"; done
sleep 3
rc=0
echo "live check (every replica's stream through its client port):"
ip netns exec "$client_ns" "$rlog" check --config "$run_dir/cluster.conf" \
  --bind "$net_prefix.100" --acks "$run_dir/acks.txt" --timeout 60 > "$run_dir/check-live.out" 2>&1 || rc=1
grep -v '^VIOLATION' "$run_dir/check-live.out" | sed 's/^/  /'
grep -m 20 '^VIOLATION' "$run_dir/check-live.out" || true
sleep 1  # Let the followers learn the last commit before they stop.
for i in $(seq "$replicas"); do alive "$i" && kill -TERM "${pids[$i]}"; done
for i in $(seq "$replicas"); do wait "${pids[$i]}" 2>/dev/null || true; pids[$i]=""; done
dirs=()
for i in $(seq "$replicas"); do dirs+=("$data_root/data-$i"); done
echo "offline check (data directories, acknowledgements, sent log):"
"$rlog" check --data-dir "${dirs[@]}" --acks "$run_dir/acks.txt" --sent "$run_dir/sent.txt" \
  > "$run_dir/check-data.out" 2>&1 || rc=1
grep -v '^VIOLATION' "$run_dir/check-data.out" | sed 's/^/  /'
grep -m 20 '^VIOLATION' "$run_dir/check-data.out" || true

# --- report -------------------------------------------------------------------------------------
soak_report "$run_dir" "$rc" > "$run_dir/report.txt" || echo "soak: report failed" >&2
cat "$run_dir/report.txt"
if [ "$rc" -ne 0 ]; then
  keep=1
  echo "SOAK FAILED: the checker found violations (see $run_dir/check-*.out)"
  exit 1
fi
echo "SOAK PASSED"
