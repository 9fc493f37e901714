"""Parses Prometheus text exposition from stdin with the official client's parser and prints
one JSON object: {"families": {name: type}, "samples": [[name, labels, value], ...]}.
Run by scheduler/tests/metrics.rs; any parse error exits non-zero."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = family.type
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps({"families": families, "samples": samples}))
