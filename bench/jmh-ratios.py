#!/usr/bin/env python3
"""Turns JMH JSON results into Markdown ratio tables, one table per benchmark class found in the
file(s) given (every ratio is between two figures of the same run):

* MediaThroughputBenchmark (write/read/memoryCopy/memoryCopyIn x backend x ioBytes): MB/s and the
  ratio to the memory-copy ceilings: reads against memoryCopy (copy out of the working set), writes
  against memoryCopyIn (copy into it).
* RaidThroughputBenchmark: full-stripe and 4 KiB random writes against a memory copy of the same
  size into an equal working set; parity XOR in source bytes/s.
* SnapshotWriteBenchmark: 4 KiB write IOPS per snapshot count against a 4 KiB memory copy;
  diff compare (mismatch of two equal 4 KiB buffers) against the same copy.
* ScaleWriteBenchmark: 4 KiB random writes spread over a 576 GiB volume ÷ the same writes confined
  to 100 MiB, per stack.
* RaidConcurrencyBenchmark: RAID-5 4 KiB random writes, 4 threads ÷ 1 thread.

Usage: jmh-ratios.py RESULT.json [RESULT.json ...]
"""
import json
import sys
from collections import defaultdict

NAN = float("nan")

# PERFORMANCE.md, C gcc -O3 -march=native, XOR 4 x 256 KiB in cache (another run: indicative only)
C_XOR_4X256K_GBPS = 98.5
RAID_STRIPE_BYTES = 3 * 64 * 1024
XOR_SOURCE_BYTES = {"parityXor": 3 * 64 * 1024, "parityXor4x256k": 4 * 256 * 1024}
FIRST_WRITE_BATCH = 4096


def ratio(a, b):
    return a / b if b and b == b and a == a else NAN


def size_label(io):
    return f"{io // 1024} KiB" if io < 1 << 20 else f"{io >> 20} MiB"


def split(results):
    groups = defaultdict(list)
    for r in results:
        cls, method = r["benchmark"].rsplit(".", 2)[-2:]
        groups[cls].append((method, r.get("params", {}) or {}, r))
    return groups


def core_table(rows_in):
    ceiling = {}
    ceiling_in = {}
    rows = defaultdict(dict)
    for method, params, r in rows_in:
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
        c = ceiling.get(io, NAN)
        ci = ceiling_in.get(io, NAN)
        w, rd = m.get("write", NAN), m.get("read", NAN)
        print(f"| {backend} | {size_label(io)} | {w:,.0f} | {w / ci:.2f} | {rd:,.0f} | {rd / c:.2f} | {ci:,.0f} | {c:,.0f} |")


def raid_table(rows_in):
    ops = {method: r["primaryMetric"]["score"] for method, _, r in rows_in}
    print("| operation | I/O size | ops/s | MB/s | ceiling (memory copy, same size, equal working set) MB/s | ratio |")
    print("|---|---|---|---|---|---|")
    for method, ceiling, io in (("fullStripeWrite", "memoryCopyStripe", RAID_STRIPE_BYTES),
                                ("randomWrite4k", "memoryCopy4k", 4096)):
        o, c = ops.get(method, NAN), ops.get(ceiling, NAN)
        print(f"| {method} | {size_label(io)} | {o:,.0f} | {o * io / 1e6:,.0f} | {c * io / 1e6:,.0f} | {ratio(o, c):.2f} |")
    print()
    print("| parity XOR (raid `internal.Xor`, in cache) | source bytes / op | ops/s | source GB/s | ratio to C 4 x 256 KiB (98.5 GB/s, PERFORMANCE.md, not this run) |")
    print("|---|---|---|---|---|")
    for method, src in XOR_SOURCE_BYTES.items():
        o = ops.get(method, NAN)
        gbps = o * src / 1e9
        c = f"{gbps / C_XOR_4X256K_GBPS:.2f}" if method == "parityXor4x256k" else "-"
        print(f"| {method} | {size_label(src)} | {o:,.0f} | {gbps:.1f} | {c} |")


def snapshot_table(rows_in):
    by_snap = defaultdict(dict)
    for method, params, r in rows_in:
        score = r["primaryMetric"]["score"]
        unit = r["primaryMetric"]["scoreUnit"]
        if r.get("mode") == "ss":
            # seconds (or ms/us) per batch of FIRST_WRITE_BATCH writes -> writes per second
            scale = {"s/op": 1, "ms/op": 1e-3, "us/op": 1e-6, "ns/op": 1e-9}[unit]
            score = FIRST_WRITE_BATCH / (score * scale)
        by_snap[int(params.get("snapshots", 0))][method] = score
    print("| snapshots | first write IOPS | / copy | random write IOPS | / copy | identical rewrite IOPS | / copy | 4 KiB copy IOPS (ceiling) | diff compare GB/s | copy GB/s | compare / copy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for snaps, m in sorted(by_snap.items()):
        c = m.get("memoryCopy4k", NAN)
        fw, rw, ri = m.get("firstWrite4k", NAN), m.get("randomWrite4k", NAN), m.get("rewriteIdentical4k", NAN)
        d = m.get("diffCompare4k", NAN)
        print(f"| {snaps} | {fw:,.0f} | {ratio(fw, c):.3f} | {rw:,.0f} | {ratio(rw, c):.3f} | {ri:,.0f} | {ratio(ri, c):.3f} "
              f"| {c:,.0f} | {d * 4096 / 1e9:.1f} | {c * 4096 / 1e9:.1f} | {ratio(d, c):.2f} |")


def scale_table(rows_in):
    by_stack = defaultdict(dict)
    for method, params, r in rows_in:
        by_stack[params.get("stack", "-")][params.get("span", "-")] = r["primaryMetric"]["score"]
    print("| stack (4 sparse 256 GiB mapped-file members) | spread over the volume, IOPS | confined to 100 MiB, IOPS | spread / confined (target >= 0.5) |")
    print("|---|---|---|---|")
    for stack, m in sorted(by_stack.items()):
        sp, co = m.get("spread", NAN), m.get("confined", NAN)
        print(f"| {stack} | {sp:,.0f} | {co:,.0f} | {ratio(sp, co):.2f} |")


def concurrency_table(rows_in):
    ops = {method: r["primaryMetric"]["score"] for method, params, r in rows_in}
    one, four = ops.get("write4kThreads1", NAN), ops.get("write4kThreads4", NAN)
    print("| RAID-5 4 KiB random writes | 1 thread, IOPS | 4 threads, IOPS | 4 threads / 1 (target >= 1.5) |")
    print("|---|---|---|---|")
    print(f"| 4 x 256 MiB off-heap members behind FaultInjectingDevice | {one:,.0f} | {four:,.0f} | {ratio(four, one):.2f} |")


TABLES = {
    "ScaleWriteBenchmark": ("Cost of a 4 KiB write against volume size", scale_table),
    "RaidConcurrencyBenchmark": ("RAID-5 writes from 1 and 4 threads", concurrency_table),
    "MediaThroughputBenchmark": ("Media throughput", core_table),
    "RaidThroughputBenchmark": ("RAID-5 of 4 off-heap members", raid_table),
    "SnapshotWriteBenchmark": ("Snapshot volume, 4 KiB writes", snapshot_table),
}

groups = defaultdict(list)
for path in sys.argv[1:]:
    for cls, rows in split(json.load(open(path))).items():
        groups[cls].extend(rows)
only_one = len(groups) == 1
for cls, rows in groups.items():
    title, table = TABLES.get(cls, (cls, None))
    if table is None:
        print(f"(no ratio table for {cls})", file=sys.stderr)
        continue
    if not only_one:
        print(f"\n### {title}\n")
    table(rows)
