#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/ (run from the
repository root: python3 tests/fuzz/make_corpus.py). The seeds are small valid inputs plus a few
near-misses; libFuzzer mutates from there. The files are committed; rerun after a format change."""
import glob
import gzip
import json
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx_pair(images, labels):
    # fuzz_idx input: 2 bytes (big-endian) = length of the images part, then images, labels.
    return struct.pack(">H", len(images)) + images + labels


def idx_images(n, rows, cols):
    return struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 37) % 256 for i in range(n * rows * cols))


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


# IDX: valid, gzipped, truncated, wrong magic, label out of range, count mismatch.
put("idx", "valid", idx_pair(idx_images(3, 4, 4), idx_labels(3)))
put("idx", "valid-gzip", idx_pair(gzip.compress(idx_images(2, 5, 3), mtime=0), gzip.compress(idx_labels(2), mtime=0)))
put("idx", "truncated-images", idx_pair(idx_images(3, 4, 4)[:-5], idx_labels(3)))
put("idx", "wrong-magic", idx_pair(struct.pack(">IIII", 0x802, 1, 2, 2) + b"\0" * 4, idx_labels(1)))
put("idx", "label-range", idx_pair(idx_images(1, 2, 2), struct.pack(">II", 0x801, 1) + b"\x0b"))
put("idx", "count-mismatch", idx_pair(idx_images(2, 2, 2), idx_labels(3)))
put("idx", "truncated-gzip", idx_pair(gzip.compress(idx_images(2, 3, 3), mtime=0)[:-6], idx_labels(2)))

# CIFAR: byte 0 selects 10 (even) or 100 (odd) classes, the rest is one batch file.
rec10 = lambda label: bytes([label]) + bytes((i * 7) % 256 for i in range(3072))
rec100 = lambda coarse, fine: bytes([coarse, fine]) + bytes((i * 11) % 256 for i in range(3072))
put("cifar", "cifar10-two", b"\x00" + rec10(3) + rec10(9))
put("cifar", "cifar100-one", b"\x01" + rec100(4, 99))
put("cifar", "cifar10-partial", b"\x00" + rec10(1) + rec10(2)[:100])
put("cifar", "cifar10-label-range", b"\x00" + rec10(10))
put("cifar", "cifar10-gzip", b"\x00" + gzip.compress(rec10(5), mtime=0))

# Plans: the project's own plans and test plans, plus small broken ones.
repo = os.path.dirname(os.path.dirname(ROOT))
for path in sorted(glob.glob(os.path.join(repo, "resources/plans/*.json")) + glob.glob(os.path.join(repo, "tests/data/plans/*.json"))):
    with open(path, "rb") as f:
        put("plan", "file-" + os.path.basename(path), f.read())
minimal = {"version": 1, "name": "m", "dataset": {"name": "fashion-mnist"}, "model": {"zoo": "mlp"},
           "variants": [{"label": "p", "chain": [{"plugin": "prune.magnitude", "params": {"sparsity": 0.9, "scope": "layer"}}]}]}
put("plan", "minimal-with-step", json.dumps(minimal))
put("plan", "wrong-types", json.dumps({"version": "1", "name": 3, "repetitions": -1, "backends": "cpu"}))
put("plan", "duplicate-key", '{"version": 1, "version": 2}')
put("plan", "syntax-error", '{"version": 1,, }')

# Plugin metadata: what QPluginLoader::metaData() returns, for every plugin in the tree.
iid = "org.joulebench.Technique/1.0"
for path in sorted(glob.glob(os.path.join(repo, "plugins/*/*.json"))):
    with open(path) as f:
        meta = json.load(f)
    put("plugin_metadata", os.path.basename(path), json.dumps({"IID": iid, "className": "X", "MetaData": meta}))
put("plugin_metadata", "wrong-iid", json.dumps({"IID": "org.other/1.0", "className": "X", "MetaData": {}}))
put("plugin_metadata", "no-metadata", json.dumps({"IID": iid, "className": "X"}))
put("plugin_metadata", "api-2", json.dumps({"IID": iid, "MetaData": {"apiVersion": 2, "id": "a.b"}}))

# JSONL run events: the examples of docs/jsonl-events.md, one per file.
with open(os.path.join(repo, "docs/jsonl-events.md")) as f:
    lines = [l.strip() for l in f if l.startswith('{"')]
for i, line in enumerate(lines):
    put("run_events", "doc-%02d" % i, line)
put("run_events", "not-json", "event: phase")
put("run_events", "unknown-event", '{"event":"teleport","t":1}')
put("run_events", "nan-energy", '{"event":"phase","phase":"idle","run":1,"state":"end","t":1,"energy":[{"domain":"d","kind":"measured","gross_j":null,"net_j":null,"power_w":null}]}')
