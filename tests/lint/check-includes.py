#!/usr/bin/env python3
"""check-includes.py: the include rules of HACKING.md, checked.

Reads every #include "..." and #include <rolesd/...> of the C sources under
proto/, daemon/, client/ and bench/, and fails (exit 1, one line per
violation) when a file includes across a forbidden edge, or when the
includes between folders, or between the daemon's modules, form a cycle.

  check-includes.py SOURCE_ROOT
"""

import os
import re
import sys

# Folder ("room") -> the rooms it may include from (itself always).
ALLOWED = {
    "proto": set(),
    "daemon": {"proto"},
    "client/rolesd": set(),
    "client/lib": {"client/rolesd", "proto"},
    "client/rest": {"client/rolesd", "client/lib", "proto"},
    "client/http": {"client/rolesd"},
    "client/ctl": {"client/rolesd"},
    "bench": {"proto", "client/rolesd", "client/http"},
}

# Single files a room may reach in a room it may not otherwise include.
EXCEPTIONS = {
    # rolesd-bench compares with the shim's own threading and limits
    ("bench", "client/http/limits.h"),
}
# Only these files of an allowed room, where the room is reached from outside.
ONLY = {
    ("client/rest", "client/lib"): re.compile(r"client/lib/internal\.h$"),
    ("bench", "client/http"): re.compile(r"client/http/limits\.h$"),
}

# The daemon's modules in layers: a module includes only lower ranks.
DAEMON_RANK = {
    "main": 10,
    "manager": 9,
    "listen": 8,
    "conn": 7,
    "dispatch": 6,
    "role": 5, "org": 5, "status": 5, "member": 5, "user": 5, "key": 5,
    "changes": 5, "access": 5,
    "handlers": 4.5,    # the handlers' shared declarations: below the handler modules
    "auth": 4, "seed": 4,
    "catalog": 3,
    "writer": 2,
    "store": 1,
    "log": 0, "limits": 0,
}

# Files that must not include a pattern, and why.
FORBIDDEN = [
    (re.compile(r"daemon/store[^/]*\.[ch]$"), re.compile(r"proto/wire[^/]*\.h$"),
     "the store stores bytes: it does not know the wire format"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def room_of(path):
    parts = path.split("/")
    if parts[0] == "client":
        return "client/" + parts[1] if len(parts) > 2 else "client"
    if parts[0] in ("proto", "daemon", "bench"):
        return parts[0]
    return None


def daemon_module(path):
    base = os.path.basename(path).rsplit(".", 1)[0]
    if base.startswith("store"):
        return "store"
    return base


def resolve(root, src, kind, name):
    """The repository path an include names, or None for a system header."""
    here = os.path.dirname(src)
    if kind == "<":
        if name.startswith("rolesd/"):
            return "client/" + name
        return None
    for cand in (os.path.join(here, name), name, os.path.join("client", name)):
        cand = os.path.normpath(cand)
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


def sources(root):
    for top in ("proto", "daemon", "client", "bench"):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), root)


def find_cycle(graph):
    """A cycle in {node: set(nodes)} as a list, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    errors = []
    room_graph, daemon_graph, file_graph = {}, {}, {}
    for src in sorted(sources(root)):
        room = room_of(src)
        if room is None:
            errors.append("%s: not in a known folder (add it to check-includes.py)" % src)
            continue
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                dst = resolve(root, src, m.group(1), m.group(2))
                if dst is None:
                    continue
                where = "%s:%d: includes %s" % (src, lineno, dst)
                file_graph.setdefault(src, set()).add(dst)
                droom = room_of(dst)
                for fsrc, fdst, why in FORBIDDEN:
                    if fsrc.search(src) and fdst.search(dst):
                        errors.append("%s: %s" % (where, why))
                if droom != room:
                    room_graph.setdefault(room, set()).add(droom)
                    ok = droom in ALLOWED.get(room, set()) or (room, dst) in EXCEPTIONS
                    only = ONLY.get((room, droom))
                    if ok and only and not only.search(dst) and (room, dst) not in EXCEPTIONS:
                        ok = False
                    if not ok:
                        errors.append("%s: %s may not include from %s" % (where, room, droom))
                elif room == "daemon":
                    a, b = daemon_module(src), daemon_module(dst)
                    if a != b:
                        daemon_graph.setdefault(a, set()).add(b)
                        ra, rb = DAEMON_RANK.get(a), DAEMON_RANK.get(b)
                        if ra is None or rb is None:
                            errors.append("%s: module %s has no rank in check-includes.py" %
                                          (where, a if ra is None else b))
                        elif rb >= ra:
                            errors.append("%s: daemon module %s (rank %g) may only include lower "
                                          "ranks, not %s (rank %g)" % (where, a, ra, b, rb))
    for name, graph in (("folders", room_graph), ("daemon modules", daemon_graph),
                        ("files", file_graph)):
        c = find_cycle(graph)
        if c:
            errors.append("include cycle between %s: %s" % (name, " -> ".join(c)))
    for e in errors:
        print(e)
    print("check-includes: %d files, %d violations" % (len(file_graph), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
