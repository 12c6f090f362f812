#!/usr/bin/env python3
"""shardkeys.py LOG - check a command log (tests/it/cmdlog.c: one JSON line per command) against
the shard keys of docs/scaling.md, "MongoDB sharded cluster": every command on a sharded
collection must carry its key, so that mongos sends it to the shards of the key's values only.

A condition on a field carries it when it is an equality ({f: v}, {f: {$eq: v}}) or a $in,
at the top of the filter or in a top-level $and; a $or carries it when each branch does. On a
ranged key's field (RANGED) a bounded range ({$gte/$gt: a, $lt/$lte: b}) carries it too: mongos
sends it to the chunks of that range. Reads (find, aggregate's first $match, count, distinct)
must carry READ[coll], writes (each update's and delete's q) WRITE[coll], and each document
an insert carries has every field of WRITE[coll]. getMore and killCursors follow their
cursor; UNTARGETED commands are those of docs/scaling.md's list, and UNSHARDED collections
the ones it leaves unsharded. Prints each offender and
exits 1 when there is one. The reads of KNOWN (docs/scaling.md says why) are printed, not
counted as offenders."""
import json
import sys

# collection -> the fields reads must carry, the fields writes must carry
READ = {
    "events": ["site_id"],  # {site_id: 1, _id: 1}: a site's events are one range of it
    "rollups": ["site_id"],  # {site_id: 1, _id: 1}: a site's days are one range of it
    "rollup_hours": ["_id"],  # {_id: "hashed"}
    "rollup_users": ["_id"],  # {_id: 1}
    "rollup_paths": ["scope"],  # {scope: 1, _id: 1}: a site-day's paths are one range of it
    "rollup_referrers": ["scope"],  # {scope: 1, _id: 1}
    "rollup_visits": ["site_id"],  # {site_id: 1, _id: 1}: a site's visit days and hours
    "rollup_entry_pages": ["scope"],  # {scope: 1, _id: 1}: a visit site-day's entry pages
    "rollup_exit_pages": ["scope"],  # {scope: 1, _id: 1}
    "rollup_dims": ["site_id"],  # {site_id: 1, _id: 1}: a site's dimensions over days
    "rollup_dim_visits": ["site_id"],  # {site_id: 1, _id: 1}
}
WRITE = {
    "events": ["site_id", "_id"],
    "rollups": ["site_id", "_id"],
    "rollup_hours": ["_id"],
    "rollup_users": ["_id"],
    "rollup_paths": ["scope", "_id"],
    "rollup_referrers": ["scope", "_id"],
    "rollup_visits": ["site_id", "_id"],
    "rollup_entry_pages": ["scope", "_id"],
    "rollup_exit_pages": ["scope", "_id"],
    "rollup_dims": ["site_id", "_id"],
    "rollup_dim_visits": ["site_id", "_id"],
}
RANGED = {"events": {"site_id", "_id"}, "rollups": {"site_id", "_id"}, "rollup_users": {"_id"},
          "rollup_paths": {"scope", "_id"}, "rollup_referrers": {"scope", "_id"},
          "rollup_visits": {"site_id", "_id"}, "rollup_entry_pages": {"scope", "_id"},
          "rollup_exit_pages": {"scope", "_id"}, "rollup_dims": {"site_id", "_id"},
          "rollup_dim_visits": {"site_id", "_id"}}
# The reads docs/scaling.md would list as not targeted yet (sent to every shard), each by the
# collection, command and the field that scopes it to one site (none now): any other read
# without its key is an offender.
KNOWN = {}
UNTARGETED = {"createIndexes", "listIndexes", "getMore", "killCursors", "endSessions", "ping",
              "hello", "isMaster", "buildInfo", "serverStatus", "collMod", "dropIndexes"}
# The collections docs/scaling.md leaves unsharded (on the primary shard): every command on
# them goes to that one shard.
UNSHARDED = {"jobs", "audit"}
READS = {"find": "filter", "count": "query", "distinct": "query"}


def carries_field(cond, field, ranged):
    """Whether filter cond carries field (see above)."""
    if not isinstance(cond, dict):
        return False
    if field in cond:
        v = cond[field]
        if not isinstance(v, dict) or not any(k.startswith("$") for k in v):
            return True  # an equality (a value, or a document compared whole)
        if "$eq" in v or "$in" in v:
            return True
        if ranged and ("$gte" in v or "$gt" in v) and ("$lt" in v or "$lte" in v):
            return True
    if any(carries_field(c, field, ranged) for c in cond.get("$and", [])):
        return True
    branches = cond.get("$or")
    return bool(branches) and all(carries_field(c, field, ranged) for c in branches)


def missing(coll, cond, fields):
    return [f for f in fields if not carries_field(cond, f, f in RANGED.get(coll, set()))]


def check(rec):
    """The offences of one recorded command: a list of strings."""
    name, cmd = rec["cmd"], rec["command"]
    coll = cmd.get(name)
    if name in UNTARGETED:
        return []
    if not isinstance(coll, str):
        return [f"{name}: a command on no collection"]
    if coll in UNSHARDED:
        return []
    if coll not in READ:
        return [f"{name} on {coll}: a collection without a documented shard key"]
    out = []
    if name in READS or name == "aggregate":
        if name == "aggregate":
            stages = cmd.get("pipeline", [])
            cond = stages[0].get("$match") if stages else None
        else:
            cond = cmd.get(READS[name], {})
        lack = missing(coll, cond, READ[coll])
        known = KNOWN.get((coll, name))
        if lack and known is not None and not missing(coll, cond, [known]):
            out.append(f"known: {name} on {coll} by {known}, not by its shard key")
        elif lack:
            out.append(f"{name} on {coll} without {lack}: {json.dumps(cond)[:300]}")
    elif name in ("update", "delete"):
        for st in cmd.get("updates" if name == "update" else "deletes", []):
            lack = missing(coll, st.get("q"), WRITE[coll])
            if lack:
                out.append(f"{name} on {coll} without {lack}: {json.dumps(st.get('q'))[:300]}")
    elif name == "insert":
        for doc in cmd.get("documents", []):
            lack = [f for f in WRITE[coll] if f not in doc]
            if lack:
                out.append(f"insert on {coll} of a document without {lack}")
    else:
        out.append(f"{name} on {coll}: a command not known to this check")
    return out


def main():
    offences = {}
    n = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            n += 1
            for o in check(json.loads(line)):
                offences[o] = offences.get(o, 0) + 1
    by_cmd = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            key = f"{rec['cmd']} {rec['command'].get(rec['cmd'])}"
            by_cmd[key] = by_cmd.get(key, 0) + 1
    print(f"{n} commands: " + ", ".join(f"{k} x{v}" for k, v in sorted(by_cmd.items())))
    bad = 0
    for o, count in sorted(offences.items()):
        if o.startswith("known: "):
            print(f"{o[7:]} (x{count}): sent to every shard (docs/scaling.md)")
        else:
            print(f"offender (x{count}): {o}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
