"""A small ClickHouse HTTP interface over chDB (ClickHouse in process), for llmwatch's tests.

Serves what llmwatch's ClickHouse source and the tests use of ClickHouse's HTTP interface:
POST or GET on /, the query from the `query` URL parameter and/or the body (for an INSERT the
parameter holds the statement and the body its data, as with ClickHouse), `database` (the
default database of the query), `default_format`, gzip answers when `enable_http_compression=1`
and `Accept-Encoding: gzip`, errors as HTTP 500 (404 for an unknown table) with the
`X-ClickHouse-Exception-Code` header and ClickHouse's message as the body, answers sent in
HTTP chunks (computed whole first: chDB cannot interleave two streaming queries of one session,
and llmwatch reads the spans and the logs tables at once).

Usage: front.py DATA_DIR  -- prints "PORT n" on stdout once listening on 127.0.0.1:n.
"""

import gzip
import re
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
        data = memoryview(result.bytes())
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        compress = zlib.compressobj(6, zlib.DEFLATED, 31) if gz else None
        for at in range(0, len(data), CHUNK):
            piece = bytes(data[at:at + CHUNK])
            self.write_chunk(compress.compress(piece) if compress else piece)
        if compress:
            self.write_chunk(compress.flush())
        self.wfile.write(b"0\r\n\r\n")

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

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


def main():
    global SESSION
    SESSION = session.Session(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
