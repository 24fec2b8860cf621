#!/usr/bin/env bash
# Fills a chDB (ClickHouse in process) table of the Collector clickhouseexporter's schema with
# N GenAI spans (default 1,000,000: traces of one agent root and nine model calls, five
# services, 2% errors, attributes as strings as the exporter writes them), serves it through
# tests/clickhouse/front.py, and reads it with `llmwatch report`, printing the summary's span
# count, the elapsed time, the spans per second, llmwatch's CPU time and peak RSS (GNU time),
# and the bytes of the spans answer on the wire (gzip, as the front sent them).
#
# Usage: [PROFILE=release] scripts/clickhouse-million.sh [N]   (builds the binary of PROFILE,
# default dev; needs target/pyvenv from scripts/setup-python-venv.sh and /usr/bin/time)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-1000000}
python=target/pyvenv/bin/python
dir=$(mktemp -d)
trap 'kill "$front" 2>/dev/null || true; rm -rf "$dir"' EXIT

profile=${PROFILE:-dev}
cargo build --profile "$profile" --quiet
bin=${CARGO_TARGET_DIR:-target}/$([[ $profile == dev ]] && echo debug || echo "$profile")/llmwatch
FRONT_BYTES_LOG=$dir/bytes "$python" tests/clickhouse/front.py "$dir/data" >"$dir/port" &
front=$!
for _ in $(seq 60); do grep -q PORT "$dir/port" 2>/dev/null && break; sleep 1; done
port=$(awk '{print $2}' "$dir/port")
url=http://127.0.0.1:$port

"$python" tests/clickhouse/load.py "$url" bench >/dev/null
sql() { "$python" -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode())).read()' "$url" "$1"; }
fill_start=$(date +%s)
sql "INSERT INTO bench.otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind,
  ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode)
SELECT
  now64(9) - toIntervalMillisecond($n - number),
  lower(hex(MD5(toString(intDiv(number, 10))))),
  substring(lower(hex(MD5(toString(number)))), 1, 16),
  if(number % 10 = 0, '', substring(lower(hex(MD5(toString(intDiv(number, 10) * 10)))), 1, 16)),
  if(number % 10 = 0, 'invoke_agent support', 'chat gpt-4o-mini'),
  if(number % 10 = 0, 'Internal', 'Client'),
  concat('svc-', toString(number % 5)),
  map('service.name', concat('svc-', toString(number % 5)), 'telemetry.sdk.language', 'python'),
  'opentelemetry.instrumentation.openai', '0.1',
  if(number % 10 = 0,
     map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', 'support'),
     map('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
         'gen_ai.request.model', 'gpt-4o-mini', 'gen_ai.response.model', 'gpt-4o-mini-2024-07-18',
         'gen_ai.usage.input_tokens', toString(100 + number % 900),
         'gen_ai.usage.output_tokens', toString(20 + number % 200),
         'gen_ai.response.finish_reasons', '[\"stop\"]')),
  200000000 + (number % 1000) * 1000000,
  if(number % 50 = 7, 'Error', 'Ok')
FROM numbers($n)"
echo "filled $n spans in $(( $(date +%s) - fill_start )) s"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$dir/bytes"
start=$(date +%s.%N)
/usr/bin/time -f '%M %U %S' -o "$dir/rss" "$bin" report "clickhouse://127.0.0.1:$port/bench" >"$dir/summary.json"
end=$(date +%s.%N)
accepted=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["spans"]["accepted"])' "$dir/summary.json")
wire=$(sort -n "$dir/bytes" | tail -1 | cut -d' ' -f1)
read -r rss user sys <"$dir/rss"
awk -v a="$accepted" -v s="$start" -v e="$end" -v rss="$rss" -v u="$user" -v y="$sys" -v w="$wire" 'BEGIN {
  printf "spans accepted %d in %.1f s: %.0f spans/s, llmwatch CPU %.1f s (%.1f us/span), peak RSS %.0f MiB, spans answer %.2f MiB on the wire\n",
    a, e - s, a / (e - s), u + y, (u + y) * 1e6 / a, rss / 1024, w / 1048576 }'
