#!/usr/bin/env bash
# Installs each instrumentation library of the capture run into its own venv (Python) or npm dir
# (Vercel AI SDK) under WORK_DIR, so their dependency pins cannot fight each other.
# Idempotent: a venv whose marker file matches its pin list is left alone.
set -euo pipefail
work=${1:-/tmp/llmwatch-capture-libraries}
mkdir -p "$work"
export DO_NOT_TRACK=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# Shared by every Python venv: the OTLP/HTTP exporter and the genuine openai client.
common="openai==2.54.0 opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"

declare -A pins=(
    [langchain]="traceAI-langchain==0.2.0 langchain-openai langchain-core"
    [openlit]="openlit==1.45.0"
    [langfuse]="langfuse==3.15.0"
    [llamaindex]="llama-index-core==0.14.* llama-index-llms-openai llama-index-embeddings-openai openinference-instrumentation-llama-index==4.6.1"
    [pydanticai]="pydantic-ai-slim[openai]==2.66.0 logfire==5.4.0"
)

install_py() {
    local name=$1 venv="$work/$1"
    local want="$common ${pins[$1]}"
    # pydantic-ai 2.66 needs a newer openai than the other libraries' captures were made with.
    [[ $name == pydanticai ]] && want="${want/openai==2.54.0/openai}"
    if [[ -f "$venv/.pins" && "$(cat "$venv/.pins")" == "$want" ]]; then return 0; fi
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    rm -f "$venv/.pins"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q $want
    echo "$want" > "$venv/.pins"
    echo "install: $name ready" >&2
}

install_js() {
    local dir="$work/vercel"
    mkdir -p "$dir"
    local want="ai@7 @ai-sdk/openai@4 @ai-sdk/otel@1"
    if [[ -f "$dir/.pins" && "$(cat "$dir/.pins")" == "$want" ]]; then return 0; fi
    (cd "$dir" && [[ -f package.json ]] || npm init -y >/dev/null)
    (cd "$dir" && npm install --silent --no-audit --no-fund \
        $want @opentelemetry/sdk-trace-node @opentelemetry/api \
        @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources)
    echo "$want" > "$dir/.pins"
    echo "install: vercel ready" >&2
}

for name in "${!pins[@]}"; do install_py "$name" & done
install_js &
wait
