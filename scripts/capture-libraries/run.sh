#!/usr/bin/env bash
# Runs every driver against the fake OpenAI server, each exported to its own llmwatch --headless
# --record, and writes tests/fixtures/<library>.jsonl. Needs ./install.sh first and a built
# llmwatch (cargo build). Usage: run.sh [WORK_DIR] [LIBRARY...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work=${1:-/tmp/llmwatch-capture-libraries}
shift || true
libs=("$@")
[[ ${#libs[@]} -gt 0 ]] || libs=(langchain openlit langfuse llamaindex pydanticai vercel vercel_legacy)
llmwatch=${LLMWATCH:-${CARGO_TARGET_DIR:-$repo/target}/debug/llmwatch}

# Telemetry opt-outs: no library may phone home or download anything.
export DO_NOT_TRACK=1 ANONYMIZED_TELEMETRY=false SCARF_NO_ANALYTICS=true
export OTEL_SDK_DISABLED=false OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none
export LANGFUSE_TRACING_ENVIRONMENT=capture LANGCHAIN_TRACING_V2=false LANGSMITH_TRACING=false
export LOGFIRE_SEND_TO_LOGFIRE=false LOGFIRE_CONSOLE=false
export OPENAI_API_KEY=sk-fake TIKTOKEN_CACHE_DIR="$work/tiktoken-empty"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 NEXT_TELEMETRY_DISABLED=1
mkdir -p "$TIKTOKEN_CACHE_DIR"

fake_port=18999
python3 "$here/fake_openai.py" $fake_port > "$work/fake.log" 2>&1 &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q ready "$work/fake.log" 2>/dev/null && break; sleep 0.2; done
export OPENAI_BASE_URL="http://127.0.0.1:$fake_port/v1"

port=14318
for lib in "${libs[@]}"; do
    out="$repo/tests/fixtures/$lib.jsonl"
    rm -f "$out" "$work/$lib.summary.json"
    "$llmwatch" --headless --grpc off --http 127.0.0.1:$port --record "$out" \
        --summary "$work/$lib.summary.json" > /dev/null 2> "$work/$lib.llmwatch.log" &
    lw_pid=$!
    for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
    export LIBRARY=$lib OTLP_ENDPOINT="http://127.0.0.1:$port/v1/traces"
    echo "== $lib" >&2
    if [[ $lib == vercel* ]]; then
        cp "$here/drive_vercel.mjs" "$work/vercel/drive_vercel.mjs"
        telemetry=current
        [[ $lib == vercel_legacy ]] && telemetry=legacy
        (cd "$work/vercel" && TELEMETRY=$telemetry node drive_vercel.mjs)
    else
        (cd "$here" && "$work/$lib/bin/python" "drive_$lib.py")
    fi
    sleep 1
    kill -INT $lw_pid
    wait $lw_pid || true
    # Source paths in attributes (logfire's code.filepath, tracebacks) say where the capture
    # was made, nothing about the library: shortened.
    sed -i -E "s#$work/$lib/lib/python3\.[0-9]+/site-packages/#/venv/lib/site-packages/#g; s#/[^\"]*/lib/python(3\.[0-9]+)/#/usr/lib/python\1/#g" "$out"
    echo "$lib: $(wc -l < "$out") requests recorded in $out" >&2
done
