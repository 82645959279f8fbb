#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Validate OCSF events (one JSON object per line, on stdin) against the
public OCSF schema (github.com/ocsf/ocsf-schema, a release's JSON files:
tests/ocsf/schema-1.3.0). For each event: its class (class_uid) exists;
category_uid and type_uid agree with it; every attribute the class requires
is there (a profile's only when metadata.profiles names the profile), and so
for every object, recursively; every attribute present is one the class or
object defines; every value has the dictionary's type (string, integer,
float, boolean, timestamp, object, array) and, for an enum, a defined value;
an object's at_least_one and just_one constraints hold.

  ocsf_validate.py SCHEMA_DIR [--quiet] [--sample N] < events.jsonl

--sample N checks at most N events of each kind (class, activity and, for
procbind's, the record's event name and verdict), and counts the rest.

Prints one line per bad event (its line number and what is wrong) and a
summary; exits 1 if any event is bad, 2 if stdin holds no event."""
import glob
import json
import os
import sys

BASE_TYPES = {"string_t", "integer_t", "long_t", "float_t", "boolean_t", "json_t", "object_t",
              "timestamp_t"}


class Schema:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        d = self.load("dictionary.json")
        self.dattrs = d["attributes"]
        self.types = d["types"]["attributes"]
        self.cats = {n: c["uid"] for n, c in self.load("categories.json")["attributes"].items()}
        self.objects = {}
        for f in glob.glob(os.path.join(self.root, "objects", "*.json")):
            o = self.load(f)
            self.objects[o["name"]] = o
        self.events = {}
        for f in glob.glob(os.path.join(self.root, "events", "**", "*.json"), recursive=True):
            e = self.load(f)
            self.events[e["name"]] = e
        self.classes = {}
        for name in self.events:
            c = self.resolve_event(name)
            if c.get("uid") is not None and c.get("category"):
                self.classes[self.cats[c["category"]] * 1000 + c["uid"]] = c
        self.resolved_objects = {}

    def load(self, path):
        with open(path if os.path.isabs(path) else os.path.join(self.root, path)) as f:
            return json.load(f)

    def attrs_of(self, d):
        """d's attributes, with its $include files merged in; an attribute
        from a profile is tagged with the profile's name."""
        out = {}
        for k, v in d.get("attributes", {}).items():
            if k == "$include":
                for inc in v if isinstance(v, list) else [v]:
                    f = self.load(inc)
                    prof = f.get("name") if f.get("meta") == "profile" else None
                    for ik, iv in self.attrs_of(f).items():
                        iv = dict(iv)
                        if prof:
                            iv.setdefault("profile", prof)
                        out[ik] = {**out.get(ik, {}), **iv}
            else:
                out[k] = {**out.get(k, {}), **v}
        return out

    def merge(self, parent, child):
        attrs = {k: dict(v) for k, v in parent.get("attrs", {}).items()}
        for k, v in child.items():
            attrs[k] = {**attrs.get(k, {}), **v}
        return attrs

    def resolve_event(self, name):
        e = self.events[name]
        parent = self.resolve_event(e["extends"]) if e.get("extends") else {}
        return {"name": name, "uid": e.get("uid"),
                "category": e.get("category", parent.get("category")),
                "attrs": self.merge(parent, self.attrs_of(e)),
                "constraints": e.get("constraints", parent.get("constraints", {}))}

    def resolve_object(self, name):
        if name in self.resolved_objects:
            return self.resolved_objects[name]
        o = self.objects.get(name)
        if o is None:
            return None
        parent = self.resolve_object(o["extends"]) if o.get("extends") in self.objects else {}
        r = {"name": name, "attrs": self.merge(parent or {}, self.attrs_of(o)),
             "constraints": o.get("constraints", (parent or {}).get("constraints", {}))}
        self.resolved_objects[name] = r
        return r

    def base_type(self, t):
        seen = 0
        while t not in BASE_TYPES and t in self.types and seen < 8:
            t = self.types[t].get("type", t)
            seen += 1
        return t

    def info(self, name, local):
        """An attribute's dictionary entry, with the class's or object's
        refinements (requirement, enum) over it."""
        d = dict(self.dattrs.get(name, {}))
        enum = dict(d.get("enum", {}))
        enum.update(local.get("enum", {}))
        d.update(local)
        if enum:
            d["enum"] = enum
        return d


def check_value(s, where, name, info, v, profiles, errs):
    t = info.get("type")
    if t is None:
        errs.append(f"{where}.{name}: not in the dictionary")
        return
    if info.get("is_array"):
        if not isinstance(v, list):
            errs.append(f"{where}.{name}: an array expected")
            return
        for i, x in enumerate(v):
            check_one(s, f"{where}.{name}[{i}]", name, info, x, profiles, errs)
    else:
        check_one(s, f"{where}.{name}", name, info, v, profiles, errs)


def check_one(s, where, name, info, v, profiles, errs):
    t = info["type"]
    if t in s.objects:  # the dictionary names an object by its name
        info = {**info, "type": "object_t", "object_type": t}
        t = "object_t"
    base = s.base_type(t)
    ok = {
        "string_t": isinstance(v, str),
        "integer_t": isinstance(v, int) and not isinstance(v, bool),
        "long_t": isinstance(v, int) and not isinstance(v, bool),
        "timestamp_t": isinstance(v, int) and not isinstance(v, bool),
        "float_t": isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean_t": isinstance(v, bool),
        "json_t": True,
        "object_t": isinstance(v, dict),
    }.get(base)
    if ok is None:
        errs.append(f"{where}: unknown type {t}")
        return
    if not ok:
        errs.append(f"{where}: {json.dumps(v)[:60]} is not a {t}")
        return
    # (the classification's uids are the class's own, checked in validate())
    if ("enum" in info and isinstance(v, int) and str(v) not in info["enum"]
            and name not in ("category_uid", "class_uid", "type_uid")):
        errs.append(f"{where}: {v} is not one of {sorted(info['enum'], key=int)}")
    if base == "object_t":
        otype = info.get("object_type")
        if otype == "object":
            return  # any object (unmapped)
        o = s.resolve_object(otype)
        if o is None:
            errs.append(f"{where}: unknown object type {otype}")
            return
        check_fields(s, where, o, v, profiles, errs)


def check_fields(s, where, spec, obj, profiles, errs):
    attrs = spec["attrs"]
    for name, local in attrs.items():
        if local.get("requirement") != "required" or name in obj:
            continue
        if local.get("profile") and local["profile"] not in profiles:
            continue
        errs.append(f"{where}.{name}: required, missing")
    for name, v in obj.items():
        if name not in attrs:
            errs.append(f"{where}.{name}: not an attribute of {spec['name']}")
            continue
        check_value(s, where, name, s.info(name, attrs[name]), v, profiles, errs)
    cons = spec.get("constraints") or {}
    if "at_least_one" in cons and not any(k in obj for k in cons["at_least_one"]):
        errs.append(f"{where}: needs at least one of {cons['at_least_one']}")
    if "just_one" in cons and sum(k in obj for k in cons["just_one"]) != 1:
        errs.append(f"{where}: needs exactly one of {cons['just_one']}")


def validate(s, ev):
    errs = []
    if not isinstance(ev, dict):
        return ["not a JSON object"]
    cls = s.classes.get(ev.get("class_uid"))
    if cls is None:
        return [f"class_uid {ev.get('class_uid')} is no OCSF class"]
    cat = s.cats[cls["category"]]
    if ev.get("category_uid") != cat:
        errs.append(f"category_uid {ev.get('category_uid')}: class {cls['name']} is in {cat}")
    if isinstance(ev.get("activity_id"), int) and ev.get("type_uid") != ev["class_uid"] * 100 + ev["activity_id"]:
        errs.append(f"type_uid {ev.get('type_uid')} is not class_uid * 100 + activity_id")
    profiles = set((ev.get("metadata") or {}).get("profiles") or [])
    check_fields(s, cls["name"], cls, ev, profiles, errs)
    return errs


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    s = Schema(sys.argv[1])
    quiet = "--quiet" in sys.argv[2:]
    sample = int(sys.argv[sys.argv.index("--sample") + 1]) if "--sample" in sys.argv else 0
    n = bad = checked = 0
    by_class = {}
    seen = {}
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        n += 1
        try:
            ev = json.loads(line)
        except ValueError as e:
            errs = [f"not JSON: {e}"]
        else:
            if isinstance(ev, dict):
                by_class[ev.get("class_uid")] = by_class.get(ev.get("class_uid"), 0) + 1
                um = ev.get("unmapped") if isinstance(ev.get("unmapped"), dict) else {}
                kind = (ev.get("class_uid"), ev.get("activity_id"), um.get("event"),
                        um.get("verdict"))
                seen[kind] = seen.get(kind, 0) + 1
                if sample and seen[kind] > sample:
                    continue
            checked += 1
            errs = validate(s, ev)
        if errs:
            bad += 1
            print(f"line {lineno}: " + "; ".join(errs[:6]))
    if not quiet or bad:
        print(f"ocsf: {n} events ({checked} checked, {len(seen)} kinds), {bad} invalid; by class: "
              + ", ".join(f"{k}: {v}" for k, v in sorted(by_class.items(), key=lambda x: str(x[0]))))
    if n == 0:
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
