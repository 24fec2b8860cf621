#!/usr/bin/env bash
# CPU use of an idle llmwatch with the screen open (no traffic): runs the release binary in a
# detached tmux session (160x48), lets it settle, then reads its CPU time from /proc over a
# measured interval. Usage: scripts/idle-cpu.sh [SECONDS]   (default 30)
set -euo pipefail
secs="${1:-30}"
cd "$(dirname "$0")/.."
cargo build --release --quiet
sock="llmwatch-idle-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
tmux -L "$sock" new-session -d -x 160 -y 48 \
  "TERM=xterm-256color ./target/release/llmwatch --grpc 127.0.0.1:0 --http 127.0.0.1:0"
sleep 3
pid=$(pgrep -n -f "target/release/llmwatch --grpc 127.0.0.1:0")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$secs"
t1=$(ticks)
python3 -c "print(f'idle llmwatch, screen open: {($t1-$t0)/$hz:.2f} s of CPU in $secs s = {($t1-$t0)/$hz/$secs*100:.2f}% of one core')"
