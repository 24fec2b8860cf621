#!/usr/bin/env bash
# Creates (or refreshes) a Python venv at VENV_DIR with the pinned OpenTelemetry SDK and OTLP
# exporters, and chDB for the ClickHouse tests, from scripts/python-requirements.txt. Idempotent: a marker file in the venv holds the
# requirement list it was built from, so a re-run with unchanged pins returns at once.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 VENV_DIR" >&2
    exit 2
fi
venv=$1
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/python-requirements.txt"
marker="$venv/.llmwatch-requirements"

if [[ -x "$venv/bin/python" && -f "$marker" ]] && cmp -s "$requirements" "$marker"; then
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
# Remove the marker first so an interrupted install is redone next time.
rm -f "$marker"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
cp "$requirements" "$marker"
echo "setup-python-venv: $venv ready" >&2
