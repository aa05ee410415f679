#!/usr/bin/python3
"""inside.py: the clients that the systemd tests run inside the sandbox
(systemd-sandbox exec), where the daemon socket and 127.0.0.1:8080 are.
Results go to JSON files in /tmp, which the sandbox shares with the test.

  inside.py create-load OUT --org N [--conns C] [--window W] [--stop-file F]
      C connections, each keeping W role.create requests in flight, until
      the daemon closes them (or F appears). Prints "running" once some
      writes were acknowledged. OUT: {"acked": [names], "rejected":
      [[name, code]], "sent": [names], "unexpected": [...]}.
  inside.py check IN --org N
      role.get of every acked name in IN; prints {"missing": [...],
      "count": the org's role count}.
  inside.py http-load OUT --key K --org N --stop-file F
      POST /v2/custom_role to 127.0.0.1:8080 in a loop until F appears; OUT:
      [[t_monotonic, status, api_id], ...].

The MessagePack client is the tests' own (tests/lib/harness.py, on
PYTHONPATH), written independently of librolesd.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from harness import ConnectionClosed, RawClient

SOCKET = "/run/rolesd/rolesd.sock"
HTTP = "http://127.0.0.1:8080"


def create_load(a):
    lock = threading.Lock()
    acked, rejected, sent, unexpected = [], [], [], []
    running = threading.Event()
    seq = iter(range(1 << 30))

    def next_name(tid):
        with lock:
            return "load-%d-%06d" % (tid, next(seq))

    def stop_requested():
        return a.stop_file and os.path.exists(a.stop_file)

    def worker(tid):
        try:
            c = RawClient(SOCKET, timeout=20)
        except OSError as e:
            with lock:
                unexpected.append("connect: %s" % e)
            return
        inflight = {}
        with c:
            try:
                def send_one():
                    name = next_name(tid)
                    msgid = c.alloc_msgid()
                    with lock:
                        sent.append(name)
                    inflight[msgid] = name
                    return c.send_request("role.create", {"org": a.org, "name": name,
                                                          "description": "load"}, msgid=msgid)
                for _ in range(a.window):
                    send_one()
                while inflight:
                    msgid, err, res = c.recv_reply()
                    name = inflight.pop(msgid, None)
                    if name is None:
                        with lock:
                            unexpected.append("reply to unknown msgid %r" % msgid)
                        continue
                    with lock:
                        if err is None and res.get("name") == name:
                            acked.append(name)
                            if len(acked) >= 40:
                                running.set()
                        elif err is not None and err.get("code") == "unavailable":
                            rejected.append([name, err.get("code")])
                        else:
                            unexpected.append([name, err, res])
                    if not stop_requested():
                        send_one()
            except ConnectionClosed:
                pass            # the daemon stopped; unanswered requests were not acknowledged
            except OSError as e:
                with lock:
                    unexpected.append("socket: %s" % e)

    with RawClient(SOCKET, timeout=20) as c:
        err, _ = c.call("org.add", {"id": a.org, "name": "load"})
        if err is not None and err.get("code") != "duplicate":
            sys.exit("org.add failed: %r" % (err,))
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.conns)]
    for t in threads:
        t.start()
    while not running.wait(0.05):
        if not any(t.is_alive() for t in threads):
            break
    print("running", flush=True)
    for t in threads:
        t.join(60)
    with lock:
        out = {"acked": acked, "rejected": rejected, "sent": sent, "unexpected": unexpected,
               "hung": sum(t.is_alive() for t in threads)}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("acked %d, rejected %d, sent %d" % (len(acked), len(rejected), len(sent)), flush=True)


def check(a):
    with open(a.inp) as f:
        acked = json.load(f)["acked"]
    missing = []
    with RawClient(SOCKET, timeout=20) as c:
        for name in acked:
            err, res = c.call("role.get", {"org": a.org, "name": name})
            if err is not None or res.get("name") != name:
                missing.append([name, err])
        lst = c.ok("role.list", {"org": a.org, "per_page": 1})
    print(json.dumps({"missing": missing, "count": lst["count"]}))


def http_load(a):
    out = []
    i = 0
    while not os.path.exists(a.stop_file):
        api_id = "http_%06d" % i
        i += 1
        body = json.dumps({"name": "Http %06d" % i, "api_id": api_id,
                           "permissions": ["review_read"]}).encode()
        req = urllib.request.Request(HTTP + "/v2/custom_role?org_id=%d" % a.org, data=body,
                                     method="POST",
                                     headers={"x-APIKey": a.key,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                status = r.status
                doc = json.load(r)
                if doc.get("api_id") != api_id:
                    status = -1
        except urllib.error.HTTPError as e:
            status = e.code
        except (OSError, ValueError) as e:
            status = "%s" % e
        out.append([time.monotonic(), status, api_id])
        time.sleep(0.01)
    with open(a.out, "w") as f:
        json.dump(out, f)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("create-load")
    s.add_argument("out")
    s.add_argument("--org", type=int, required=True)
    s.add_argument("--conns", type=int, default=8)
    s.add_argument("--window", type=int, default=8)
    s.add_argument("--stop-file")
    s = sub.add_parser("check")
    s.add_argument("inp")
    s.add_argument("--org", type=int, required=True)
    s = sub.add_parser("http-load")
    s.add_argument("out")
    s.add_argument("--key", required=True)
    s.add_argument("--org", type=int, required=True)
    s.add_argument("--stop-file", required=True)
    a = p.parse_args()
    {"create-load": create_load, "check": check, "http-load": http_load}[a.cmd](a)


if __name__ == "__main__":
    main()
