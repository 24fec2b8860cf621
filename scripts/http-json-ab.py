#!/usr/bin/env python3
"""Live HTTP OTLP/JSON ingest of two llmwatch builds, alternating in one run:
SPANS=N scripts/http-json-ab.py OLD_BIN NEW_BIN CAPTURE [ROUNDS]. Each round starts a build's HTTP
receiver, posts every trace line of CAPTURE as one application/json request (keep-alive, one
client) and reads the receiver's CPU time from /proc: CPU per span (SPANS: the spans in CAPTURE,
as `llmwatch report --spans CAPTURE | wc -l` counts them) and the wall time of the posting."""
import http.client, os, signal, socket, statistics, subprocess, sys, time

bins = {'old': sys.argv[1], 'new': sys.argv[2]}
lines = [l for l in open(sys.argv[3], 'rb').read().split(b'\n') if l.startswith(b'{"resourceSpans"')]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 4
spans = int(os.environ['SPANS'])

def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

def cpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

res = {k: [] for k in bins}
for r in range(rounds):
    for name in (['old', 'new'] if r % 2 == 0 else ['new', 'old']):
        port = free_port()
        p = subprocess.Popen([bins[name], '--headless', '--grpc', 'off', '--http', f'127.0.0.1:{port}',
                              '--status-interval', '3600', '--max-spans', '100000000', '--max-memory', '8GiB'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        while True:
            line = p.stderr.readline().decode()
            if 'HTTP listening' in line or not line:
                break
        c = http.client.HTTPConnection('127.0.0.1', port)
        c0, t0 = cpu(p.pid), time.monotonic()
        for body in lines:
            while True:
                c.request('POST', '/v1/traces', body, {'Content-Type': 'application/json'})
                resp = c.getresponse(); resp.read()
                if resp.status != 429:
                    break
                time.sleep(0.01)
            assert resp.status == 200, resp.status
        t1, c1 = time.monotonic(), cpu(p.pid)
        p.send_signal(signal.SIGTERM); p.communicate(timeout=60)
        us = (c1 - c0) / spans * 1e6
        res[name].append((us, t1 - t0))
        print(f'round {r+1} {name}: {us:.2f} us CPU/span, {t1 - t0:.2f} s wall', flush=True)
for name in bins:
    print(name, f'median {statistics.median(x[0] for x in res[name]):.2f} us CPU/span,',
          f'{statistics.median(x[1] for x in res[name]):.2f} s wall')
print('new/old CPU per span, per round:', ' '.join(f'{n[0]/o[0]:.3f}' for o, n in zip(res['old'], res['new'])))
