"""Creates the OpenTelemetry Collector clickhouseexporter's tables and fills them from OTLP/JSON
captures, with rows as the exporter writes them, through a ClickHouse HTTP interface.

The CREATE TABLE statements are the exporter's own, verbatim, with its template placeholders
filled (database, table, no cluster, engine MergeTree(), no TTL, no full-text search), from
opentelemetry-collector-contrib exporter/clickhouseexporter/internal/sqltemplates/:
traces_table.sql, traces_json_table.sql, logs_table.sql, logs_json_table.sql,
traces_id_ts_lookup_table.sql and traces_id_ts_lookup_mv.sql.

As the exporter does (exporter_traces.go / exporter_logs.go): Timestamp is the span start (the
log record's time, else its observed time), Duration the end minus the start in nanoseconds,
SpanKind and StatusCode their pdata names (`Client`, `Error`; `--old-enums` writes the older
`SPAN_KIND_CLIENT` / `STATUS_CODE_ERROR`), ServiceName the resource's service.name, and every
attribute value a string (pcommon's AsString: numbers and booleans as text, arrays and maps as
JSON). With --json the tables have JSON attribute columns and attributes go in as JSON objects.

The logs table gets the `EventName` column that later exporter releases write (the cited DDL
lacks it); --no-event-name leaves it out.

Usage: load.py URL DATABASE [--json] [--old-enums] [--shift-to-now [--ago=SECONDS]]
               [--no-create] [--no-event-name] CAPTURE...
  --shift-to-now moves the spans' times so the newest starts a second (plus SECONDS) ago.
  URL is the HTTP interface (http://127.0.0.1:8123). Prints "spans N logs M".
"""

import json
import sys
import time
import urllib.parse
import urllib.request

TRACES_TABLE = """CREATE TABLE IF NOT EXISTS {db}.{table}  (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""

TRACES_JSON_TABLE = """CREATE TABLE IF NOT EXISTS {db}.{table}  (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes JSON CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes JSON CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes JSON
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes JSON
    ) CODEC(ZSTD(1)),
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)

SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
"""

LOGS_TABLE = """CREATE TABLE IF NOT EXISTS {db}.{table}  (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),

    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8,
    INDEX idx_body_ngrambf Body TYPE ngrambf_v1(4, 32768, 3, 0) GRANULARITY 1
    ) ENGINE = MergeTree()
    PARTITION BY toDate(TimestampTime)
    PRIMARY KEY (ServiceName, TimestampTime)
    ORDER BY (ServiceName, TimestampTime, Timestamp)
    
    SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""

LOGS_JSON_TABLE = """CREATE TABLE IF NOT EXISTS {db}.{table}  (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes JSON CODEC(ZSTD(1)),
    ResourceAttributesKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes JSON CODEC(ZSTD(1)),
    ScopeAttributesKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),
    LogAttributes JSON CODEC(ZSTD(1)),
    LogAttributesKeys Array(LowCardinality(String)) CODEC(ZSTD(1)),

    INDEX idx_res_attr_keys ResourceAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_keys ScopeAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_keys LogAttributesKeys TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, toDateTime(Timestamp))
ORDER BY (ServiceName, toDateTime(Timestamp), Timestamp)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""

LOOKUP_TABLE = """CREATE TABLE IF NOT EXISTS {db}.{table}  (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = MergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""

LOOKUP_MV = """CREATE MATERIALIZED VIEW IF NOT EXISTS "{d}"."{t}_trace_id_ts_mv" 
TO "{d}"."{t}_trace_id_ts"
AS SELECT
              TraceId,
              min(Timestamp) as Start,
              max(Timestamp) as End
   FROM "{d}"."{t}"
   WHERE TraceId != ''
   GROUP BY TraceId
"""

KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
STATUSES = ["Unset", "Ok", "Error"]
OLD_KINDS = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
             "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]
OLD_STATUSES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
ENUMS = {"SPAN_KIND_" + k.upper(): i for i, k in enumerate(KINDS)}
ENUMS.update({"STATUS_CODE_" + s.upper(): i for i, s in enumerate(STATUSES)})


def run(url, sql, body=None):
    q = urllib.parse.urlencode({"query": sql}) if body is not None else ""
    req = urllib.request.Request(url + "/?" + q, data=(body if body is not None else sql.encode()),
                                 method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        sys.exit("load.py: %s: %s" % (sql.split("\n")[0][:80], e.read().decode(errors="replace").strip()))


def plain(v):
    """An AnyValue as Python data (for arrays and maps as JSON)."""
    if not v:
        return None
    for k, x in v.items():
        if k == "stringValue":
            return x
        if k == "boolValue":
            return bool(x)
        if k == "intValue":
            return int(x)
        if k == "doubleValue":
            return float(x)
        if k == "bytesValue":
            return x
        if k == "arrayValue":
            return [plain(i) for i in x.get("values", [])]
        if k == "kvlistValue":
            return {i["key"]: plain(i.get("value")) for i in x.get("values", [])}
    return None


def as_string(v):
    """pcommon.Value.AsString()."""
    p = plain(v)
    if p is None:
        return "" if not v or "kvlistValue" not in v else "{}"
    if isinstance(p, bool):
        return "true" if p else "false"
    if isinstance(p, float):
        r = repr(p)
        return r[:-2] if r.endswith(".0") else r
    if isinstance(p, (list, dict)):
        return json.dumps(p, separators=(",", ":"))
    return str(p)


def attrs(kvs, as_json):
    if as_json:
        return {kv["key"]: plain(kv.get("value")) for kv in kvs or []}
    return {kv["key"]: as_string(kv.get("value")) for kv in kvs or []}


def hexid(s):
    return (s or "").lower()


def ts(nanos):
    n = int(nanos or 0)
    return "%s.%09d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(n // 10**9)), n % 10**9)


def enum(value, names, old):
    if isinstance(value, str):
        value = ENUMS.get(value, 0)
    return (old if OLD else names)[int(value or 0)]


OLD = False


def main():
    global OLD
    args = sys.argv[1:]
    url, db = args[0], args[1]
    flags = {a for a in args[2:] if a.startswith("--")}
    files = [a for a in args[2:] if not a.startswith("--")]
    as_json = "--json" in flags
    OLD = "--old-enums" in flags
    traces, logs = [], []
    for f in files:
        with open(f) as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                o = json.loads(line)
                for rs in o.get("resourceSpans", []):
                    res = rs.get("resource", {}).get("attributes", [])
                    service = next((as_string(a.get("value")) for a in res if a["key"] == "service.name"), "")
                    for ss in rs.get("scopeSpans", []):
                        scope = ss.get("scope", {})
                        for s in ss.get("spans", []):
                            traces.append((service, res, scope, s))
                for rl in o.get("resourceLogs", []):
                    res = rl.get("resource", {}).get("attributes", [])
                    service = next((as_string(a.get("value")) for a in res if a["key"] == "service.name"), "")
                    for sl in rl.get("scopeLogs", []):
                        scope = sl.get("scope", {})
                        for r in sl.get("logRecords", []):
                            logs.append((service, res, scope, r))
    shift = 0
    ago = next((int(f.split("=", 1)[1]) for f in flags if f.startswith("--ago=")), 0)
    if "--shift-to-now" in flags:
        starts = [int(s.get("startTimeUnixNano") or 0) for _, _, _, s in traces]
        if starts:
            shift = time.time_ns() - max(starts) - 10**9 - ago * 10**9
    q = '"%s"' % db
    if "--no-create" not in flags:
        run(url, "CREATE DATABASE IF NOT EXISTS %s" % q)
        run(url, (TRACES_JSON_TABLE if as_json else TRACES_TABLE).format(db=q, table='"otel_traces"'))
        run(url, (LOGS_JSON_TABLE if as_json else LOGS_TABLE).format(db=q, table='"otel_logs"'))
        if "--no-event-name" not in flags:
            # The cited DDL has no EventName; exporter releases that store the log record's
            # event name (which GenAI evaluation results are told apart by) add this column.
            run(url, 'ALTER TABLE %s."otel_logs" ADD COLUMN IF NOT EXISTS EventName LowCardinality(String) CODEC(ZSTD(1))' % q)
        if not as_json:
            run(url, LOOKUP_TABLE.format(db=q, table='"otel_traces_trace_id_ts"'))
            run(url, LOOKUP_MV.format(d=db, t="otel_traces"))
    rows = []
    for service, res, scope, s in traces:
        start = int(s.get("startTimeUnixNano") or 0) + shift
        end = int(s.get("endTimeUnixNano") or 0) + shift
        events = s.get("events", [])
        links = s.get("links", [])
        status = s.get("status", {})
        rows.append(json.dumps({
            "Timestamp": ts(start),
            "TraceId": hexid(s.get("traceId")),
            "SpanId": hexid(s.get("spanId")),
            "ParentSpanId": hexid(s.get("parentSpanId")),
            "TraceState": s.get("traceState", ""),
            "SpanName": s.get("name", ""),
            "SpanKind": enum(s.get("kind"), KINDS, OLD_KINDS),
            "ServiceName": service,
            "ResourceAttributes": attrs(res, as_json),
            "ScopeName": scope.get("name", ""),
            "ScopeVersion": scope.get("version", ""),
            "SpanAttributes": attrs(s.get("attributes"), as_json),
            "Duration": max(end - start, 0),
            "StatusCode": enum(status.get("code"), STATUSES, OLD_STATUSES),
            "StatusMessage": status.get("message", ""),
            "Events.Timestamp": [ts(int(e.get("timeUnixNano") or 0) + shift) for e in events],
            "Events.Name": [e.get("name", "") for e in events],
            "Events.Attributes": [attrs(e.get("attributes"), as_json) for e in events],
            "Links.TraceId": [hexid(l.get("traceId")) for l in links],
            "Links.SpanId": [hexid(l.get("spanId")) for l in links],
            "Links.TraceState": [l.get("traceState", "") for l in links],
            "Links.Attributes": [attrs(l.get("attributes"), as_json) for l in links],
        }))
    if rows:
        run(url, "INSERT INTO %s.otel_traces FORMAT JSONEachRow" % q, "\n".join(rows).encode())
    rows = []
    for service, res, scope, r in logs:
        t = int(r.get("timeUnixNano") or 0) or int(r.get("observedTimeUnixNano") or 0)
        row = {
            "Timestamp": ts(t + shift),
            "TraceId": hexid(r.get("traceId")),
            "SpanId": hexid(r.get("spanId")),
            "TraceFlags": int(r.get("flags") or 0),
            "SeverityText": r.get("severityText", ""),
            "SeverityNumber": ENUMS.get(r.get("severityNumber"), r.get("severityNumber") or 0)
            if not isinstance(r.get("severityNumber"), str) else 0,
            "ServiceName": service,
            "Body": as_string(r.get("body")),
            "ResourceAttributes": attrs(res, as_json),
            "ScopeName": scope.get("name", ""),
            "ScopeVersion": scope.get("version", ""),
            "ScopeAttributes": attrs(scope.get("attributes"), as_json),
            "LogAttributes": attrs(r.get("attributes"), as_json),
        }
        if r.get("eventName"):
            row["EventName"] = r["eventName"]
        rows.append(json.dumps(row))
    if rows:
        run(url, "INSERT INTO %s.otel_logs FORMAT JSONEachRow" % q, "\n".join(rows).encode())
    print("spans %d logs %d" % (len(traces), len(logs)))


if __name__ == "__main__":
    main()
