#!/usr/bin/env bash
# Regenerates docs/screen.svg and docs/screen.txt, the README's picture of the dashboard: a real
# frame of the demo's traffic at 160x48 (examples/screenshot.rs). Deterministic: run it after a
# change to the screen and commit both files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --quiet --example screenshot -- docs
