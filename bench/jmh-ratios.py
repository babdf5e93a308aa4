#!/usr/bin/env python3
"""Turns a JMH JSON result of a *ThroughputBenchmark (write/read/memoryCopy/memoryCopyIn x backend x
ioBytes) into a Markdown table of MB/s and the ratio to the memory-copy ceilings measured in the same
run: reads against memoryCopy (copy out of the working set), writes against memoryCopyIn (copy into
it)."""
import json
import sys
from collections import defaultdict

results = json.load(open(sys.argv[1]))
ceiling = {}
ceiling_in = {}
rows = defaultdict(dict)
for r in results:
    method = r["benchmark"].rsplit(".", 1)[1]
    params = r.get("params", {})
    io = int(params["ioBytes"])
    mbps = r["primaryMetric"]["score"] * io / 1e6
    if method == "memoryCopy":
        ceiling[io] = max(ceiling.get(io, 0), mbps)
    elif method == "memoryCopyIn":
        ceiling_in[io] = max(ceiling_in.get(io, 0), mbps)
    else:
        rows[(params.get("backend", "-"), io)][method] = mbps

print("| backend | I/O size | write MB/s | write / copy-in | read MB/s | read / copy-out | copy-in MB/s | copy-out MB/s |")
print("|---|---|---|---|---|---|---|---|")
for (backend, io), m in sorted(rows.items()):
    c = ceiling.get(io, float("nan"))
    ci = ceiling_in.get(io, float("nan"))
    w, rd = m.get("write", float("nan")), m.get("read", float("nan"))
    size = f"{io // 1024} KiB" if io < 1 << 20 else f"{io >> 20} MiB"
    print(f"| {backend} | {size} | {w:,.0f} | {w / ci:.2f} | {rd:,.0f} | {rd / c:.2f} | {ci:,.0f} | {c:,.0f} |")
