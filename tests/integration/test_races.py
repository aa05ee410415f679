#!/usr/bin/python3
"""test_races.py: writes racing on several connections of the real
daemon. Each race is run many times, its requests sent on all its
connections at once from threads (so they meet in the writer's batches in
every order), and each outcome is checked against the only ones the
contract allows; afterwards the store passes the consistency walk.

  - two or more clients update one role with the same if_revision:
    exactly one wins, the others get conflict;
  - a rename races a create of the same name: exactly one succeeds, the
    other gets duplicate;
  - a delete races a member.add: the role is either gone with no
    membership left, or present with it (and with force, always gone)."""

import threading

from storewalk import WalkedTestCase
from harness import fresh_org, main, report

ROUNDS = 150


def race(conns, requests):
    """Sends requests[i] (a list of (method, params)) on conns[i], all at
    once from one thread per connection; returns, per connection, the
    replies (err, res) in request order."""
    start = threading.Barrier(len(conns))
    out = [None] * len(conns)

    def run(i):
        c = conns[i]
        ids = []
        start.wait()
        for method, params in requests[i]:
            ids.append(c.send_request(method, params))
        got = c.recv_replies(len(ids))
        out[i] = [got[m] for m in ids]
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(conns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(o is not None for o in out), "a racing client got no replies"
    return out


class RacesTest(WalkedTestCase):

    def setUp(self):
        super().setUp()
        self.conns = [self.d.rpc() for _ in range(4)]
        for c in self.conns:
            self.addCleanup(c.close)

    def create_many(self, org, names, **kw):
        roles = {}
        for i in range(0, len(names), 200):
            ids = {self.c.send_request("role.create", dict({"org": org, "name": n}, **kw)): n
                   for n in names[i:i + 200]}
            for m, (err, res) in self.c.recv_replies(len(ids)).items():
                self.assertIsNone(err, ids[m])
                roles[ids[m]] = res
        return roles

    def test_same_if_revision_one_wins(self):
        org = fresh_org(self.c)
        roles = self.create_many(org, ["ifr-%03d" % i for i in range(ROUNDS)])
        reqs = [[("role.update", {"org": org, "id": r["id"], "if_revision": r["revision"],
                                  "set": {"description": "by client %d" % k}})
                 for r in roles.values()] for k in range(len(self.conns))]
        out = race(self.conns, reqs)
        report("same if_revision: wins per client %r" % [sum(1 for j in range(len(roles)) if out[k][j][0] is None)
                                                        for k in range(len(self.conns))])
        for j, r in enumerate(roles.values()):
            outcomes = [out[k][j] for k in range(len(self.conns))]
            won = [k for k, (err, _) in enumerate(outcomes) if err is None]
            self.assertEqual(len(won), 1, "%s: %r" % (r["name"], outcomes))
            for k, (err, _) in enumerate(outcomes):
                if k != won[0]:
                    self.assertError(err, "conflict", "if_revision")
            now = self.c.ok("role.get", {"org": org, "id": r["id"]})
            self.assertEqual(now["description"], "by client %d" % won[0])
            self.assertEqual(now, outcomes[won[0]][1])
            self.assertGreater(now["revision"], r["revision"])

    def test_rename_races_create(self):
        for org in (fresh_org(self.c), 0):
            prefix = "ren-%d-" % org
            roles = self.create_many(org, [prefix + "%03d" % i for i in range(ROUNDS)])
            a, b = self.conns[:2]
            out = race([a, b], [
                [("role.update", {"org": org, "id": r["id"], "set": {"name": r["name"] + "-new"}})
                 for r in roles.values()],
                [("role.create", {"org": org, "name": r["name"] + "-new"}) for r in roles.values()]])
            report("rename vs create (org %d): %d of %d renames won"
                   % (org, sum(1 for j in range(len(roles)) if out[0][j][0] is None), len(roles)))
            for j, r in enumerate(roles.values()):
                (e1, res1), (e2, res2) = out[0][j], out[1][j]
                self.assertEqual(sorted([e1 is None, e2 is None]), [False, True], "%s: %r %r" % (r["name"], e1, e2))
                self.assertError(e1 or e2, "duplicate", "name")
                holder = self.c.ok("role.get", {"org": org, "name": r["name"] + "-new"})
                self.assertEqual(holder["id"], r["id"] if e1 is None else res2["id"])
                # the loser left nothing: the old name is the renamed role's or nobody's
                old = self.c.call("role.get", {"org": org, "name": r["name"]})
                if e1 is None:
                    self.assertEqual(old[0]["code"], "not_found")
                else:
                    self.assertEqual(old[1]["id"], r["id"])

    def test_delete_races_member_add(self):
        org = fresh_org(self.c)
        self.c.ok("user.add", {"username": "racer", "org": org})
        for force in (False, True):
            roles = self.create_many(org, ["del-%s-%03d" % (force, i) for i in range(ROUNDS)])
            a, b = self.conns[:2]
            out = race([a, b], [
                [("role.delete", {"org": org, "id": r["id"], "force": force}) for r in roles.values()],
                [("member.add", {"org": org, "id": r["id"], "user": "racer"}) for r in roles.values()]])
            held = set(self.c.ok("user.roles", {"org": org, "user": "racer"})["roles"])
            kept = 0
            for j, r in enumerate(roles.values()):
                (de, _), (me, _) = out[0][j], out[1][j]
                present = self.c.call("role.get", {"org": org, "id": r["id"]})[0] is None
                if de is None:
                    # gone, with no membership left (the add came first and
                    # the delete was forced, or the add found no role)
                    self.assertFalse(present)
                    self.assertNotIn(r["api_id"], held)
                    if me is not None:
                        self.assertError(me, "not_found", "id")
                    else:
                        self.assertTrue(force, "an unforced delete of a held role")
                else:
                    # present, with the membership: the add came first
                    self.assertFalse(force)
                    self.assertError(de, "in_use", "id")
                    self.assertIsNone(me)
                    self.assertTrue(present)
                    self.assertIn(r["api_id"], held)
                    kept += 1
            self.assertEqual(len([x for x in held if x.startswith("del-%s-" % force)]), kept)
            report("delete vs member.add (force=%s): %d of %d roles kept with their member"
                   % (force, kept, len(roles)))


if __name__ == "__main__":
    main()
