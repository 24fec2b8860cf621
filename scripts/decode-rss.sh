#!/usr/bin/env bash
# Peak RSS of llmwatch while four hostile 16 MiB requests arrive at once (issue 13, item 3):
# empty events (protobuf) and `{}` spans (OTLP/JSON) over HTTP, empty spans and empty
# attributes over gRPC (curl, HTTP/2), each far larger once decoded than on the wire. Meanwhile a valid request is timed. Runs the release
# binary headless with --max-memory 64MiB, once plainly and once under `prlimit --as=1GiB`.
# Usage: scripts/decode-rss.sh   (needs curl, python3, prlimit)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=./target/release/llmwatch
dir=$(mktemp -d)
trap 'rm -rf "$dir"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT

python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)
def wrap(tag, body): return bytes([tag]) + varint(len(body)) + body
def in_scope(spans): return wrap(0x0a, wrap(0x12, spans))
n = (16 << 20) // 2 - 64
open(f"{d}/spans.pb", "wb").write(in_scope(b"\x12\x00" * n))
open(f"{d}/events.pb", "wb").write(in_scope(wrap(0x12, b"\x5a\x00" * n)))
open(f"{d}/attributes.pb", "wb").write(in_scope(wrap(0x12, b"\x4a\x00" * n)))
spans = ",".join(["{}"] * ((16 << 20) // 3 - 64))
# The same bodies as gRPC frames (uncompressed flag, big-endian length).
for name in ("spans", "attributes"):
    body = open(f"{d}/{name}.pb", "rb").read()
    open(f"{d}/{name}.grpc", "wb").write(b"\0" + len(body).to_bytes(4, "big") + body)
open(f"{d}/spans.json", "w").write('{"resourceSpans":[{"scopeSpans":[{"spans":[' + spans + ']}]}]}')
valid = ('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",'
         '"spanId":"eee19b7ec3c1b174","name":"chat","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}')
open(f"{d}/valid.json", "w").write(valid)
PY

run() {
  local label=$1; shift
  "$@" "$bin" --headless --grpc 127.0.0.1:0 --http 127.0.0.1:0 --max-memory 64MiB \
    2>"$dir/stderr" >"$dir/summary.json" &
  pid=$!
  local http=""
  for _ in $(seq 50); do
    http=$(sed -n 's/.*OTLP\/HTTP listening on //p' "$dir/stderr")
    [ -n "$http" ] && break
    sleep 0.1
  done
  local grpc=$(sed -n 's/.*OTLP\/gRPC listening on //p' "$dir/stderr")
  call() {
    curl -s --http2-prior-knowledge -o /dev/null -D "$dir/$1.h" -w "%{http_code}" \
      -H "content-type: application/grpc" -H "te: trailers" --data-binary "@$dir/$1" \
      "http://$grpc/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    echo " grpc-status $(tr -d '\r' < "$dir/$1.h" | sed -n 's/^grpc-status: //p' | tail -1)"
  }
  post() { curl -s -o /dev/null -w "%{http_code} %{time_total}s" -H "Content-Type: $2" --data-binary "@$dir/$1" "http://$http/v1/traces"; }
  local senders=()
  # Two over HTTP (protobuf events, JSON spans), two over gRPC (spans, attributes).
  post events.pb application/x-protobuf > "$dir/events.pb.out" & senders+=($!)
  post spans.json application/json > "$dir/spans.json.out" & senders+=($!)
  call spans.grpc > "$dir/spans.grpc.out" & senders+=($!)
  call attributes.grpc > "$dir/attributes.grpc.out" & senders+=($!)
  sleep 0.05
  local valid=$(post valid.json application/json)
  wait "${senders[@]}"
  local hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  echo "$label: peak RSS $((hwm / 1024)) MiB; hostile answers:" \
    "HTTP $(cat "$dir/events.pb.out") / $(cat "$dir/spans.json.out");" \
    "gRPC $(cat "$dir/spans.grpc.out") / $(cat "$dir/attributes.grpc.out");" \
    "valid request meanwhile: $valid"
  kill -TERM "$pid"; wait "$pid" || { echo "$label: exit status $?"; }
  pid=
  grep -c "request refused" "$dir/stderr" | sed "s/^/$label: refusal log lines: /"
}

run "plain"
run "prlimit --as=1GiB" prlimit --as=1073741824
