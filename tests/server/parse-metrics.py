"""Reads a /metrics scrape on stdin with the official Python client's parser (Debian's
python3-prometheus-client) and prints it as JSON: {family: {type, samples: [{name, labels, value}]}}.
A scrape the parser rejects exits non-zero with its error."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    if family.name in families:
        sys.exit(f"family {family.name} appears twice")
    families[family.name] = {
        "type": family.type,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": "+Inf" if math.isinf(s.value) else s.value}
            for s in family.samples
        ],
    }
json.dump(families, sys.stdout)
