#!/usr/bin/env python3
"""Sends spans and log records to an OTLP receiver with the official Python OpenTelemetry SDK
exporters, over OTLP/gRPC and OTLP/HTTP (protobuf), and checks that every export succeeded.

Used by tests/python_sdk.rs against `llmwatch --headless`; needs the packages pinned in
scripts/python-requirements.txt (scripts/setup-python-venv.sh installs them).

Per transport it builds its own TracerProvider and LoggerProvider (resource
service.name=python-sdk-<transport>) and emits exactly --spans spans as --traces nested traces: a
root `agent.run` span with `chat gpt-4o-mini` children carrying gen_ai.* attributes. It emits
exactly --logs log records, each inside a chat span (the root if no trace has children) so it
carries that span's trace and span id; every second one is a `gen_ai.evaluation.result` event. Exit status is non-zero, with the reason on
stderr, if any export failed or the SDK exported fewer items than were emitted (its batch
processors drop silently when their queue is full). The last stdout line is
`sent spans=<total> logs=<total>`.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

FLUSH_TIMEOUT_MILLIS = 30_000
# Smaller than the SDK's default of 512 so each signal goes out in several requests, and a trace's
# children and its root (which ends last) often land in different requests.
SPAN_BATCH = 64
LOG_BATCH = 32


class Tally:
    """What one exporter reported, filled in from the batch processor's worker thread."""

    def __init__(self, signal: str, transport: str) -> None:
        self.label = f"{transport} {signal}"
        self.lock = threading.Lock()
        self.exported = 0
        self.failed_batches = 0
        self.failed_items = 0
        self.without_trace = 0

    def record(self, ok: bool, items: int) -> None:
        with self.lock:
            if ok:
                self.exported += items
            else:
                self.failed_batches += 1
                self.failed_items += items

    def problems(self, expected: int) -> list[str]:
        out = []
        if self.failed_batches:
            out.append(
                f"{self.label}: {self.failed_batches} export(s) of {self.failed_items} items "
                "reported FAILURE (see the exporter's log above)"
            )
        if self.exported != expected:
            out.append(f"{self.label}: exported {self.exported} items successfully, expected {expected}")
        if self.without_trace:
            out.append(f"{self.label}: {self.without_trace} log records had no trace context")
        return out


class TallySpanExporter(SpanExporter):
    """Passes batches to the real exporter and records its verdicts: the SDK only logs them."""

    def __init__(self, inner: SpanExporter, tally: Tally) -> None:
        self.inner = inner
        self.tally = tally

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.tally.record(result == SpanExportResult.SUCCESS, len(spans))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class TallyLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, tally: Tally) -> None:
        self.inner = inner
        self.tally = tally

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        untraced = sum(1 for r in batch if not r.log_record.trace_id or not r.log_record.span_id)
        with self.tally.lock:
            self.tally.without_trace += untraced
        result = self.inner.export(batch)
        self.tally.record(result == LogRecordExportResult.SUCCESS, len(batch))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def exporters(transport: str, address: str) -> tuple[SpanExporter, LogRecordExporter]:
    if transport == "grpc":
        endpoint = f"http://{address}"
        return GrpcSpanExporter(endpoint=endpoint, insecure=True), GrpcLogExporter(endpoint=endpoint, insecure=True)
    base = f"http://{address}"
    return HttpSpanExporter(endpoint=f"{base}/v1/traces"), HttpLogExporter(endpoint=f"{base}/v1/logs")


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible (earlier parts get the remainder)."""
    base, extra = divmod(total, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def emit(tracer: trace.Tracer, logger, transport: str, spans: int, traces: int, logs: int) -> None:
    # Each trace is one root plus its share of the remaining spans as chat children; logs are
    # spread over the chat spans (over the roots if there are no children at all).
    children = split(spans - traces, traces)
    hosts = sum(children) or traces
    logs_per_host = iter(split(logs, hosts))
    log_seq = 0

    def log_inside_current_span(trace_no: int, call_no: int) -> None:
        nonlocal log_seq
        for _ in range(next(logs_per_host)):
            if log_seq % 2 == 0:
                score = ((trace_no * 7 + call_no * 3 + log_seq) % 10) / 10
                logger.emit(
                    event_name="gen_ai.evaluation.result",
                    severity_number=SeverityNumber.INFO,
                    severity_text="INFO",
                    attributes={
                        "gen_ai.evaluation.name": "relevance",
                        "gen_ai.evaluation.score.value": score,
                        "gen_ai.evaluation.score.label": "pass" if score >= 0.5 else "fail",
                    },
                )
            else:
                logger.emit(
                    severity_number=SeverityNumber.INFO,
                    severity_text="INFO",
                    body=f"{transport} call {call_no} of trace {trace_no} answered",
                    attributes={"app.route": "/support/chat"},
                )
            log_seq += 1

    for trace_no, calls in enumerate(children):
        with tracer.start_as_current_span(
            "agent.run",
            kind=trace.SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "support-agent",
                "session.id": f"sess-{transport}-{trace_no % 13}",
            },
        ):
            if calls == 0:
                log_inside_current_span(trace_no, 0)
            for call_no in range(calls):
                with tracer.start_as_current_span(
                    "chat gpt-4o-mini",
                    kind=trace.SpanKind.CLIENT,
                    attributes={
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                        "gen_ai.usage.input_tokens": 400 + (trace_no + call_no) % 50,
                        "gen_ai.usage.output_tokens": 80 + call_no * 7 % 40,
                        "gen_ai.response.finish_reasons": ["stop"],
                        "server.address": "api.openai.com",
                        "server.port": 443,
                    },
                ):
                    log_inside_current_span(trace_no, call_no)


def run_transport(transport: str, address: str, spans: int, traces: int, logs: int) -> list[str]:
    span_exporter, log_exporter = exporters(transport, address)
    span_tally, log_tally = Tally("spans", transport), Tally("logs", transport)
    resource = Resource.create({"service.name": f"python-sdk-{transport}"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(TallySpanExporter(span_exporter, span_tally), max_export_batch_size=SPAN_BATCH)
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(TallyLogExporter(log_exporter, log_tally), max_export_batch_size=LOG_BATCH)
    )

    tracer = tracer_provider.get_tracer("llmwatch.python_exporters")
    logger = logger_provider.get_logger("llmwatch.python_exporters")
    emit(tracer, logger, transport, spans, traces, logs)

    problems = []
    if not tracer_provider.force_flush(FLUSH_TIMEOUT_MILLIS):
        problems.append(f"{transport} spans: force_flush timed out")
    if not logger_provider.force_flush(FLUSH_TIMEOUT_MILLIS):
        problems.append(f"{transport} logs: force_flush timed out")
    tracer_provider.shutdown()
    logger_provider.shutdown()
    return problems + span_tally.problems(spans) + log_tally.problems(logs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grpc", metavar="HOST:PORT", required=True, help="OTLP/gRPC receiver")
    parser.add_argument("--http", metavar="HOST:PORT", required=True, help="OTLP/HTTP receiver")
    parser.add_argument("--spans", type=int, required=True, help="spans per transport")
    parser.add_argument("--logs", type=int, required=True, help="log records per transport")
    parser.add_argument(
        "--traces", type=int, default=None, help="traces (root spans) per transport; default spans/5"
    )
    args = parser.parse_args()
    traces = args.traces if args.traces is not None else max(1, args.spans // 5)
    if not 1 <= traces <= args.spans or args.logs < 0:
        parser.error("need 1 <= traces <= spans and logs >= 0")

    problems = []
    for transport, address in (("grpc", args.grpc), ("http", args.http)):
        problems += run_transport(transport, address, args.spans, traces, args.logs)
    if problems:
        for p in problems:
            print(f"python_exporters: {p}", file=sys.stderr)
        return 1
    print(f"sent spans={2 * args.spans} logs={2 * args.logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
