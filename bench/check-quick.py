"""check-quick.py: runs `rolesd-bench --quick` and checks that it exits 0
and writes a JSON file with the expected sections. Asserts nothing about
speed. usage: check-quick.py BENCH [bench args...]"""
import json
import os
import subprocess
import sys
import tempfile

bench, args = sys.argv[1], sys.argv[2:]
with tempfile.TemporaryDirectory(prefix="rolesd-bench-check.") as d:
    out = os.path.join(d, "bench.json")
    p = subprocess.run([bench, "--quick", "--json", out] + args)
    if p.returncode != 0:
        sys.exit("rolesd-bench --quick exited with %d" % p.returncode)
    with open(out) as f:
        doc = json.load(f)
    for section in ("figures", "units", "info", "targets"):
        if section not in doc:
            sys.exit("%s: no %r section" % (out, section))
    for key in ("ref.lmdb_commit.ops_per_s", "ref.echo.c16.ops_per_s", "create.c16.ops_per_s",
                "get.c16.ops_per_s", "list.big.first_page.ops_per_s", "daemon.start_to_ready_ms.big",
                "db.bytes_per_role", "daemon.memory.big.private_dirty_kib",
                "update.c16.ops_per_s", "access.c16.ops_per_s", "access.c16.ratio_to_echo_c16",
                "members.big.first_page.p50_us", "members.first_page.p50_ratio_big_to_small",
                "members.cursor_page.p50_ratio_big_to_small",
                "async.create.c16.ratio_to_engine", "async.create.pipeline64.ratio_to_engine",
                "feed.watch_latency.p99_commits", "feed.create.c16_watchers100.ratio_to_none",
                "feed.changes_list.p50_ratio_big_to_small", "feed.create.c16_log.ratio_to_nolog",
                "transfer.export.ratio_to_load", "transfer.import.ratio_to_load"):
        v = doc["figures"].get(key)
        if not isinstance(v, (int, float)):
            sys.exit("%s: figure %s missing or not a number: %r" % (out, key, v))
    print("rolesd-bench --quick wrote valid JSON with %d figures and %d targets"
          % (len(doc["figures"]), len(doc["targets"])))
