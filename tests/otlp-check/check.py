"""Parses OTLP/HTTP JSON bodies (one per line on stdin) as ExportTraceServiceRequest messages
with the official opentelemetry-proto classes; exits non-zero on the first that does not fit
the schema, else prints "ok <spans>". Run by scheduler/tests/otel.rs."""
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

spans = 0
for line in sys.stdin:
    if not line.strip():
        continue
    msg = json_format.Parse(line, ExportTraceServiceRequest())
    for rs in msg.resource_spans:
        for ss in rs.scope_spans:
            spans += len(ss.spans)
print(f"ok {spans}")
