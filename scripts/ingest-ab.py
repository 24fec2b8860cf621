#!/usr/bin/env python3
"""Live gRPC ingest of two llmwatch builds under the ingest bench's own load, alternating in one
run: scripts/ingest-ab.py OLD_BIN NEW_BIN [ROUNDS]. The load generator is the release ingest
bench (`cargo bench --bench ingest --no-run`, its `--load ADDR` mode); INGEST_BENCH_SECS sets the
window (8 s). Prints spans/s and llmwatch's CPU per span for each round, the medians, and the
new/old ratio per round (round-robin order flips each round)."""
import glob, os, re, signal, socket, statistics, subprocess, sys

target = os.environ.get('CARGO_TARGET_DIR', 'target')
bench = sorted(glob.glob(f'{target}/release/deps/ingest-*'), key=os.path.getmtime)
bench = [b for b in bench if os.access(b, os.X_OK) and not os.path.splitext(b)[1]][-1]
bins = {'old': sys.argv[1], 'new': sys.argv[2]}
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
secs = os.environ.get('INGEST_BENCH_SECS', '8')

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

def cpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

res = {k: [] for k in bins}
for r in range(rounds):
    order = ['old', 'new'] if r % 2 == 0 else ['new', 'old']
    for name in order:
        port = free_port()
        p = subprocess.Popen([bins[name], '--headless', '--grpc', f'127.0.0.1:{port}', '--http', 'off',
                              '--status-interval', '3600'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        while True:
            line = p.stderr.readline().decode()
            if 'gRPC listening' in line or not line:
                break
        c0 = cpu(p.pid)
        out = subprocess.run([bench, '--load', f'127.0.0.1:{port}'], capture_output=True, text=True,
                             env={**os.environ, 'INGEST_BENCH_SECS': secs}).stdout
        c1 = cpu(p.pid)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
        rate = float(re.search(r'(\d+) spans/s', out).group(1))
        m = re.search(r'(\d+) spans/s, (\d+) refused', out)
        accepted = rate * float(secs)
        us = (c1 - c0) / accepted * 1e6
        res[name].append((rate, us))
        print(f'round {r+1} {name}: {rate:,.0f} spans/s, {us:.2f} us CPU/span, refused {m.group(2)}', flush=True)
for name in bins:
    print(name, 'median spans/s', f'{statistics.median(x[0] for x in res[name]):,.0f}',
          'median us/span', f'{statistics.median(x[1] for x in res[name]):.2f}')
ratios = [n[0] / o[0] for o, n in zip(res['old'], res['new'])]
print('new/old throughput per round:', ' '.join(f'{x:.3f}' for x in ratios), 'median', f'{statistics.median(ratios):.3f}')
cr = [n[1] / o[1] for o, n in zip(res['old'], res['new'])]
print('new/old CPU per span per round:', ' '.join(f'{x:.3f}' for x in cr), 'median', f'{statistics.median(cr):.3f}')
