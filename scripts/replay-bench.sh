#!/usr/bin/env bash
# Replay of a capture at --speed max against live OTLP/gRPC ingest, in one run, interleaved:
# each round measures live gRPC into the first binary twice (the ingest bench's --load mode: its
# own 512-span batches for 8 s; and its --load-capture mode: every request of the capture itself,
# sent once over 4 connections, the very traffic the replay reads), then replays the capture
# with every binary given. Prints one line per measurement and the medians at the end.
#
#   scripts/replay-bench.sh CAPTURE ROUNDS LLMWATCH [LLMWATCH...]
#
# CAPTURE: e.g. `llmwatch demo --headless --speed max --duration 1000 --rate 1000 --seed 8
# --record /tmp/big.jsonl` (1,000,003 spans). The ingest bench binary is found under
# target/release/deps (build it with `cargo bench --bench ingest --no-run`) or given as
# INGEST_BENCH_BIN.
set -euo pipefail

capture=$1
rounds=$2
shift 2
bins=("$@")
here=$(cd "$(dirname "$0")/.." && pwd)
load_bin=${INGEST_BENCH_BIN:-$(ls -t "$here"/target/release/deps/ingest-* | grep -v '\.d$' | head -1)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Starts the binary as a live receiver, runs the load generator with the given arguments
# (ADDR is replaced by the receiver's address) and prints the load's output line and the
# receiver's CPU seconds over the load.
live() {
    local bin=$1
    shift
    "$bin" --headless --grpc 127.0.0.1:0 --http off --status-interval 3600 \
        </dev/null >"$work/live.out" 2>"$work/live.err" &
    local pid=$!
    local addr=""
    for _ in $(seq 1 100); do
        addr=$(sed -n 's/^llmwatch: OTLP\/gRPC listening on //p' "$work/live.err" | head -1)
        [ -n "$addr" ] && break
        sleep 0.1
    done
    local args=("${@/ADDR/$addr}")
    local out cpu0 cpu1
    cpu0=$(cpu_ticks "$pid")
    out=$(INGEST_BENCH_SECS=${INGEST_BENCH_SECS:-8} "$load_bin" "${args[@]}")
    cpu1=$(cpu_ticks "$pid")
    kill -TERM "$pid"
    wait "$pid" || true
    echo "${out%% spans/s*} $(python3 -c "print(($cpu1-$cpu0)/100)")"
}

# utime + stime of a process, in clock ticks
cpu_ticks() {
    awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}

replay() {
    local bin=$1
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S %M" -o "$work/time" \
        "$bin" replay --headless --speed max --status-interval 3600 "$capture" >"$work/summary.json" 2>/dev/null
    t1=$(date +%s.%N)
    local spans
    spans=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spans"]["accepted"])' "$work/summary.json")
    read -r user sys rss <"$work/time"
    python3 -c "import sys; s,w=int(sys.argv[1]),float(sys.argv[3])-float(sys.argv[2]); print(f'{s/w:.0f} {w:.2f} {sys.argv[4]} {sys.argv[5]} {int(sys.argv[6])//1024}')" \
        "$spans" "$t0" "$t1" "$user" "$sys" "$rss"
}

declare -A results
secs=${INGEST_BENCH_SECS:-8}
for round in $(seq 1 "$rounds"); do
    read -r rate cpu < <(live "${bins[0]}" --load ADDR)
    echo "round $round: live gRPC, bench batches ($(basename "${bins[0]}")) $rate spans/s ($(python3 -c "print(f'{$cpu*1e6/($rate*($secs+1)):.1f}')") µs CPU/span)"
    results[live]+="$rate "
    # The capture's CPU is counted from before its requests are encoded: not a per-span figure.
    read -r rate _ < <(live "${bins[0]}" --load-capture ADDR "$capture")
    echo "round $round: live gRPC, the capture's own requests ($(basename "${bins[0]}")) $rate spans/s"
    results[capture]+="$rate "
    for bin in "${bins[@]}"; do
        read -r rate wall user sys rss < <(replay "$bin")
        echo "round $round: replay $(basename "$bin") $rate spans/s (${wall} s wall, ${user} user + ${sys} sys = $(python3 -c "print(f'{($user+$sys)*1e6/($rate*$wall):.1f}')") µs CPU/span, peak RSS ${rss} MiB)"
        results[$(basename "$bin")]+="$rate "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
live_median=$(echo "${results[live]}" | median)
capture_median=$(echo "${results[capture]}" | median)
echo "median live gRPC, bench batches: $live_median spans/s"
echo "median live gRPC, the capture's own requests: $capture_median spans/s"
for bin in "${bins[@]}"; do
    m=$(echo "${results[$(basename "$bin")]}" | median)
    echo "median replay $(basename "$bin"): $m spans/s, ratio to live $(python3 -c "print(f'{$m/$live_median:.2f} (bench batches), {$m/$capture_median:.2f} (the capture)')")"
done
