"""A small ClickHouse HTTP interface over chDB (ClickHouse in process), for llmwatch's tests.

Serves what llmwatch's ClickHouse source and the tests use of ClickHouse's HTTP interface:
POST or GET on /, the query from the `query` URL parameter and/or the body (for an INSERT the
parameter holds the statement and the body its data, as with ClickHouse), `database` (the
default database of the query), `default_format`, gzip answers when `enable_http_compression=1`
and `Accept-Encoding: gzip`, errors as HTTP 500 (404 for an unknown table) with the
`X-ClickHouse-Exception-Code` header and ClickHouse's message as the body, answers sent in
HTTP chunks (computed whole first: chDB cannot interleave two streaming queries of one session,
and llmwatch reads the spans and the logs tables at once).

Two test-only behaviours:
- `--tls CERT KEY` serves HTTPS (ClickHouse's `https_port`) with that certificate chain and key.
- A SELECT with a default database (`database=`) whose name starts with `midstream_error` fails
  half-way as ClickHouse does when an error strikes after the answer started: HTTP 200, the
  first half of the rows, then the exception in the body, framed as ClickHouse 25.11 and later
  write it (`__exception__`, a tag also sent in `X-ClickHouse-Exception-Tag`, the message,
  its length and the tag, `__exception__`). The message is chDB's own for a failing query.

With FRONT_BYTES_LOG=FILE set, each answer's size as sent (compressed when it is) is appended
to FILE as "BYTES FORMAT" (scripts/clickhouse-million.sh measures the wire with it).

Usage: front.py DATA_DIR [--tls CERT KEY]  -- prints "PORT n" on stdout once listening on
127.0.0.1:n.
"""

import gzip
import os
import re
import secrets
import ssl
import sys
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chdb import session

LOCK = threading.Lock()
# Bytes per HTTP chunk of an answer.
CHUNK = 256 * 1024
SESSION = None
# The database-name prefix that makes a SELECT fail half-way (see the module's doc).
MIDSTREAM_ERROR = "midstream_error"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_query(b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        self.handle_query(body)

    def handle_query(self, body):
        params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        param = params.get("query", [""])[0]
        sql = param + ("\n" if param and body else "") + body.decode("utf-8")
        fmt = params.get("default_format", ["TabSeparated"])[0]
        database = params.get("database", [""])[0]
        gz = params.get("enable_http_compression", ["0"])[0] == "1" and "gzip" in self.headers.get(
            "Accept-Encoding", ""
        )
        with LOCK:
            try:
                if database:
                    SESSION.query("USE " + "`" + database.replace("`", "\\`") + "`")
                # chDB cannot interleave two streaming queries of one session, and a client
                # reads several answers at once (llmwatch: spans and logs): the answer is
                # computed here and sent in chunks outside the lock.
                result = SESSION.query(sql, fmt)
            except Exception as e:  # chDB raises ChdbError with ClickHouse's own message
                self.fail(str(e))
                return
        data = result.bytes()
        tag = None
        if database.startswith(MIDSTREAM_ERROR) and sql.lstrip().upper().startswith("SELECT"):
            tag, data = fail_half_way(data)
        data = memoryview(data)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        if tag:
            self.send_header("X-ClickHouse-Exception-Tag", tag)
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        compress = zlib.compressobj(6, zlib.DEFLATED, 31) if gz else None
        sent = 0
        for at in range(0, len(data), CHUNK):
            piece = bytes(data[at:at + CHUNK])
            sent += self.write_chunk(compress.compress(piece) if compress else piece)
        if compress:
            sent += self.write_chunk(compress.flush())
        self.wfile.write(b"0\r\n\r\n")
        log = os.environ.get("FRONT_BYTES_LOG")
        if log:
            m = re.search(r"FORMAT\s+(\w+)\s*$", sql)
            with open(log, "a") as f:
                f.write("%d %s\n" % (sent, m.group(1) if m else fmt))

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        return len(data)

    def fail(self, message):
        m = re.search(r"Code: (\d+)\.", message)
        code = m.group(1) if m else "1000"
        if m:
            message = message[m.start():]
        data = (message.strip() + "\n").encode()
        self.send_response(404 if code == "60" else 500)
        self.send_header("X-ClickHouse-Exception-Code", code)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def fail_half_way(data):
    """The first half of the rows of `data`, then an exception block: (tag, body)."""
    rows = data.splitlines(keepends=True)
    with LOCK:
        try:
            SESSION.query("SELECT throwIf(number = 1, 'the answer failed half-way') FROM numbers(2)")
            message = "Code: 1000. DB::Exception: no error raised"
        except Exception as e:
            message = str(e)
    m = re.search(r"Code: (\d+)\.", message)
    message = message[m.start():] if m else message
    tag = secrets.token_hex(8)
    text = message.encode()
    block = b"__exception__\r\n%s\r\n%s\n%d %s\r\n__exception__\r\n" % (
        tag.encode(), text, len(text), tag.encode())
    return tag, b"".join(rows[: len(rows) // 2]) + block


def main():
    global SESSION
    SESSION = session.Session(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 5 and sys.argv[2] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
