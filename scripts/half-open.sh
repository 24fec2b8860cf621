#!/usr/bin/env bash
# Half-open connections against llmwatch (issue 13, item 6): under `prlimit --nofile=1024`,
# 3,000 connections to the HTTP receiver each send part of a request header and stop. Times a
# gRPC call (curl, HTTP/2) and an HTTP request during the flood, and the HTTP request again
# after the header timeout (10 s), then prints the summary's connection counters.
# Usage: scripts/half-open.sh   (needs curl with HTTP/2, python3, prlimit)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
prlimit --nofile=1024:1024 ./target/release/llmwatch --headless --grpc 127.0.0.1:0 --http 127.0.0.1:0 \
  2>"$dir/stderr" >"$dir/summary.json" &
pid=$!
for _ in $(seq 50); do
  grep -q "OTLP/HTTP listening" "$dir/stderr" 2>/dev/null && break
  sleep 0.1
done
http=$(sed -n 's/.*OTLP\/HTTP listening on //p' "$dir/stderr")
grpc=$(sed -n 's/.*OTLP\/gRPC listening on //p' "$dir/stderr")
printf '\0\0\0\0\0' > "$dir/frame"
echo '{}' > "$dir/empty.json"
http_post() { curl -s -m 5 -o /dev/null -w "%{http_code} in %{time_total}s" -H "Content-Type: application/json" --data-binary "@$dir/empty.json" "http://$http/v1/traces" || true; }
grpc_call() {
  curl -s -m 5 --http2-prior-knowledge -o /dev/null -D "$dir/h" -w "%{http_code} in %{time_total}s" \
    -H "content-type: application/grpc" -H "te: trailers" --data-binary "@$dir/frame" \
    "http://$grpc/opentelemetry.proto.collector.trace.v1.TraceService/Export" || true
}
python3 - "$http" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
conns = []
for i in range(3000):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-")
    conns.append(s)
time.sleep(14)
PY
flood=$!
sleep 2
echo "during the flood: gRPC $(grpc_call); HTTP $(http_post)"
sleep 10
echo "after the header timeout: HTTP $(http_post); gRPC $(grpc_call)"
wait "$flood" || true
kill -TERM "$pid"; wait "$pid" || true
pid=
python3 -c "import json,sys; r=json.load(open('$dir/summary.json'))['requests']; print('connections_refused', r['connections_refused'], 'connections_timed_out', r['connections_timed_out'])"
grep -E "connection|lowered" "$dir/stderr" | head -5
