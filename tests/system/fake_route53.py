"""A small fault-injecting Route 53 API server for the system tests.

It exists ONLY for the Route 53 behaviour that moto_server does not have;
test the normal paths against moto_server, the strict and failing ones here:
  - atomic change batches: the whole batch is rejected on any error;
  - strict DELETE (TTL and every value equal to the current set, text
    compared exactly), CREATE of an existing set refused, apex SOA and NS
    UPSERTable, never left missing at the end of a batch (so DELETE + CREATE
    of the SOA in one batch is taken, a DELETE alone is not), CNAME
    conflicts checked change by change;
  - the limits of one request (1,000 ResourceRecord elements, 32,000
    characters of Value text, an UPSERT counted twice; 4,000 characters per
    Value; 400 values per set) -> InvalidChangeBatch;
  - InvalidChangeBatch in its own body form <InvalidChangeBatch><Messages>..
    (HTTP 400), or, configurable, in the ErrorResponse form that Route 53 is
    reported to use since 2024 (Code InvalidChangeBatch, Message "[m1, m2]");
  - GetChange PENDING for a configurable number of polls, then INSYNC;
  - ListResourceRecordSets paged (maxitems default and max 300, order by
    reversed labels then type), ListHostedZones paged by Marker/NextMarker,
    ListHostedZonesByName with real "starting at dnsname" semantics and
    paging, GetHostedZone with its DelegationSet;
  - names returned lowercase, octal-escaped (\\052 for *), with a trailing
    dot; names in requests decoded and compared case-insensitively;
  - injected faults (Throttling, PriorRequestNotComplete, 429/5xx, dropped
    or reset connections, InvalidInput, InvalidChangeBatch) and a request log;
  - a hostile ListResourceRecordSets: endless (IsTruncated true on every page,
    300 new record sets each), its next marker repeated, or slow.

Requests must carry an Authorization header whose credential scope ends in
/route53/aws4_request (else 403); signatures are not checked.

Control API (JSON, no authorization), also available as methods of FakeRoute53:
  POST /_fake/reset                      everything back to empty
  POST /_fake/zones {"name", "id"?, "private"?}        -> {"id": "Z..."}
       (a new zone has an SOA and an NS set of 4 name servers at its apex)
  GET  /_fake/zones                      -> [{"id", "name", "private"}]
  DELETE /_fake/zones/ID                 delete a hosted zone (its CallerReference stays used)
  GET  /_fake/zones/ID/rrsets            -> [rrset], in listing order
  POST /_fake/zones/ID/rrsets {"put": [rrset], "delete": [{"name","type","set_identifier"?}]}
       edit the store directly ("behind zonesync's back"), no checks
       rrset: {"name", "type", "ttl", "values": [..]} or with "alias":
       {"hosted_zone_id", "dns_name", "evaluate_target_health"}; optional
       "set_identifier" and "weight"
  POST /_fake/faults {"faults": [{"op", "fault", "message"?, "messages"?, "skip"?}]}  append
       op: change | list | getchange | zone (GetHostedZone, ListHostedZones[ByName]) |
           createzone (CreateHostedZone, one zone per CallerReference) | any
       fault: Throttling | PriorRequestNotComplete | 429 | 500 | 502 | 503 | 504 |
              close (drop the connection, nothing applied) | close-after (apply the
              change, then drop the connection) | reset-after (apply the change, then
              reset the connection: RST, no FIN) | InvalidInput | InvalidChangeBatch
       each request takes the first queued fault whose op matches it; a fault with
       "skip": N lets N matching requests pass first
  GET  /_fake/faults                     -> the faults not consumed yet
  DELETE /_fake/faults                   drop them
  POST /_fake/config {"pending_polls"?: N, "fail_batch"?: {"n": N, "times": K} | null,
                      "icb_form"?: "messages" | "error",
                      "listing"?: {"endless"?: bool, "repeat"?: bool, "delay"?: S} | null}
       fail_batch: the change request that arrives after N-1 batches were applied
       (counted from this call) fails with a 500, nothing applied, K times
       (default 1: pass 8 or more to exhaust a retry budget)
       listing: every ListResourceRecordSets answer is truncated, with 300 new record
       sets "pNNNNNNNNN-III.ZONE" A (endless), or with the same next marker every time
       (repeat); delay: seconds before each answer (either or alone)
  GET  /_fake/log                        -> [{"method", "path", "query", "status", "op",
       "fault", "changes": [[action, name, type]], "detail": [..], "applied",
       "records", "chars", "errors", "content_type", "batch": digest of the changes}]
  DELETE /_fake/log                      clear the log

Run alone: /usr/bin/python3 fake_route53.py --port N [--zone example.com[=ZID]] ...
prints "ready" when it listens on 127.0.0.1.
"""
import argparse
import copy
import datetime
import hashlib
import http.server
import json
import random
import re
import socket
import string
import struct
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS = "https://route53.amazonaws.com/doc/2013-04-01/"
TYPES = {"SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA",
         "CAA", "DS", "TLSA", "SSHFP", "SVCB", "HTTPS"}
MAX_RECORDS, MAX_CHARS, MAX_VALUE, MAX_VALUES = 1000, 32000, 4000, 400
PAGE_MAX, ZONES_PAGE_MAX = 300, 100
# Children of ResourceRecordSet, in the order the schema demands.
RRSET_ORDER = ["Name", "Type", "SetIdentifier", "Weight", "Region", "GeoLocation", "Failover",
               "MultiValueAnswer", "TTL", "ResourceRecords", "AliasTarget", "HealthCheckId",
               "TrafficPolicyInstanceId", "CidrRoutingConfig", "GeoProximityLocation"]
FAULTS = {  # fault -> (HTTP status, Type, Code, Message)
    "Throttling": (400, "Sender", "Throttling", "Rate exceeded"),
    "PriorRequestNotComplete": (400, "Sender", "PriorRequestNotComplete",
                                "The request was rejected because Route 53 was still "
                                "processing a prior request."),
    "InvalidInput": (400, "Sender", "InvalidInput", "Invalid request (injected)"),
    "429": (429, "Sender", "Throttling", "Rate exceeded"),
    "500": (500, "Receiver", "InternalFailure", "An internal error occurred (injected)"),
    "502": (502, "Receiver", "BadGateway", "Bad gateway (injected)"),
    "503": (503, "Receiver", "ServiceUnavailable", "Service unavailable (injected)"),
    "504": (504, "Receiver", "GatewayTimeout", "Gateway timeout (injected)"),
}


class ApiError(Exception):
    def __init__(self, status, code, message, kind="Sender"):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind


class InvalidChangeBatch(Exception):
    def __init__(self, messages):
        super().__init__("; ".join(messages))
        self.messages = messages


# --- names -------------------------------------------------------------------------

def parse_name(text):
    """A name as sent (escapes \\ooo or \\c, any case, trailing dot or not) ->
    tuple of lowercased label bytes, root last label omitted."""
    labels, cur, i = [], bytearray(), 0
    data = text.encode("utf-8")
    while i < len(data):
        c = data[i]
        if c == 0x5C and i + 4 <= len(data) and re.fullmatch(rb"[0-7]{3}", data[i + 1:i + 4]):
            cur.append(int(data[i + 1:i + 4], 8) & 0xFF)
            i += 4
            continue
        if c == 0x5C and i + 1 < len(data):
            cur.append(data[i + 1])
            i += 2
            continue
        if c == 0x2E:
            if not cur:
                raise ValueError(f"empty label in {text!r}")
            labels.append(bytes(cur).lower())
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    if cur:
        labels.append(bytes(cur).lower())
    return tuple(labels)


def format_name(labels):
    """Route 53's form: lowercase, octal escapes but for a-z 0-9 - _, trailing dot."""
    ok = set(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
    return "".join("".join(chr(b) if b in ok else "\\%03o" % b for b in lab) + "."
                   for lab in labels) or "."


def sort_key(labels, rtype="", ident=None):
    return (tuple(reversed(labels)), rtype, ident or "")


def new_id(prefix, n=13):
    return prefix + "".join(random.choice(string.ascii_uppercase + string.digits)
                            for _ in range(n))


def rrset_desc(rr):
    d = f"[name='{format_name(rr['labels'])}', type='{rr['type']}'"
    if rr.get("set_identifier") is not None:
        d += f", set-identifier='{rr['set_identifier']}'"
    return d + "]"


# --- the store ---------------------------------------------------------------------

class Zone:
    def __init__(self, zid, name, private=False):
        self.id, self.labels, self.private = zid, parse_name(name), private
        self.name = format_name(self.labels)
        self.caller_reference = str(uuid.uuid4())
        n = random.randint(1, 2000)
        self.name_servers = [f"ns-{n + i}.awsdns-{n % 64:02d}.{tld}"
                             for i, tld in enumerate(("com", "net", "org", "co.uk"))]
        self.rrsets = {}  # (labels, type, set_identifier) -> rrset dict
        soa = (f"{self.name_servers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400")
        self.put({"labels": self.labels, "type": "SOA", "ttl": 900, "values": [soa]})
        self.put({"labels": self.labels, "type": "NS", "ttl": 172800,
                  "values": [s + "." for s in self.name_servers]})

    def put(self, rr):
        self.rrsets[(rr["labels"], rr["type"], rr.get("set_identifier"))] = rr

    def ordered(self):
        return sorted(self.rrsets.values(),
                      key=lambda r: sort_key(r["labels"], r["type"], r.get("set_identifier")))

    def in_zone(self, labels):
        return labels[len(labels) - len(self.labels):] == self.labels


def rrset_from_json(d):
    rr = {"labels": parse_name(d["name"]), "type": d["type"].upper()}
    for k in ("set_identifier", "weight", "alias"):
        if d.get(k) is not None:
            rr[k] = d[k]
    if "alias" in rr:
        rr["alias"] = {"hosted_zone_id": rr["alias"]["hosted_zone_id"],
                       "dns_name": rr["alias"]["dns_name"],
                       "evaluate_target_health": bool(rr["alias"].get("evaluate_target_health"))}
    else:
        rr["ttl"], rr["values"] = int(d["ttl"]), list(d["values"])
    return rr


def rrset_to_json(rr):
    out = {"name": format_name(rr["labels"]), "type": rr["type"]}
    for k in ("set_identifier", "weight", "ttl", "values", "alias"):
        if k in rr:
            out[k] = rr[k]
    return out


# --- XML ------------------------------------------------------------------------------

def el(tag, text=None, *children):
    inner = escape(str(text)) if text is not None else "".join(c for c in children if c)
    return f"<{tag}>{inner}</{tag}>"


def rrset_xml(rr):
    parts = [el("Name", format_name(rr["labels"])), el("Type", rr["type"])]
    if rr.get("set_identifier") is not None:
        parts.append(el("SetIdentifier", rr["set_identifier"]))
    if rr.get("weight") is not None:
        parts.append(el("Weight", rr["weight"]))
    if "alias" in rr:
        a = rr["alias"]
        parts.append(el("AliasTarget", None, el("HostedZoneId", a["hosted_zone_id"]),
                        el("DNSName", a["dns_name"]),
                        el("EvaluateTargetHealth",
                           str(bool(a.get("evaluate_target_health"))).lower())))
    else:
        parts.append(el("TTL", rr["ttl"]))
        parts.append(el("ResourceRecords", None, *(el("ResourceRecord", None, el("Value", v))
                                                   for v in rr["values"])))
    return el("ResourceRecordSet", None, *parts)


def document(root, *children):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">'
            + "".join(children) + f"</{root}>")


def zone_xml(z):
    return el("HostedZone", None, el("Id", "/hostedzone/" + z.id), el("Name", z.name),
              el("CallerReference", z.caller_reference),
              el("Config", None, el("PrivateZone", str(z.private).lower())),
              el("ResourceRecordSetCount", len(z.rrsets)))


def change_info(c):
    return el("ChangeInfo", None, el("Id", "/change/" + c["id"]),
              el("Status", "PENDING" if c["pending"] > 0 else "INSYNC"),
              el("SubmittedAt", c["submitted"]),
              el("Comment", c["comment"]) if c["comment"] else "")


def parse_change_request(body):
    """The changes of a ChangeResourceRecordSetsRequest:
    (comment, [(action, rrset dict)]); ApiError when it is not valid XML of the schema."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise ApiError(400, "MalformedInput", f"Could not parse the request XML: {e}")
    q = lambda t: f"{{{NS}}}{t}"  # noqa: E731
    if root.tag != q("ChangeResourceRecordSetsRequest"):
        raise ApiError(400, "MalformedInput",
                       "ChangeBatch is not valid, expected ChangeResourceRecordSetsRequest")
    batch = root.find(q("ChangeBatch"))
    changes = batch.find(q("Changes")) if batch is not None else None
    if changes is None or len(changes) == 0:
        raise ApiError(400, "InvalidInput", "Invalid XML ; cvc-complex-type.2.4.b: The content "
                       "of element 'Changes' is not complete.")
    comment = batch.findtext(q("Comment"))
    out = []
    for ch in changes:
        action, rs = ch.findtext(q("Action")), ch.find(q("ResourceRecordSet"))
        if action not in ("CREATE", "DELETE", "UPSERT") or rs is None:
            raise ApiError(400, "InvalidInput", f"Invalid XML ; bad Change (Action={action})")
        last = -1
        for child in rs:
            tag = child.tag.replace(q(""), "")
            pos = RRSET_ORDER.index(tag) if tag in RRSET_ORDER else -1
            if pos <= last:
                raise ApiError(400, "InvalidInput", "Invalid XML ; cvc-complex-type.2.4.a: "
                               f"Invalid content was found starting with element '{tag}'.")
            last = pos
        name, rtype = rs.findtext(q("Name")), rs.findtext(q("Type"))
        if rtype not in TYPES:
            raise ApiError(400, "InvalidInput", f"Invalid XML ; Value '{rtype}' is not "
                           "facet-valid with respect to enumeration of RRType")
        try:
            rr = {"labels": parse_name(name or ""), "type": rtype}
        except ValueError as e:
            raise ApiError(400, "InvalidInput", f"Invalid domain name: {e}")
        if rs.find(q("SetIdentifier")) is not None:
            rr["set_identifier"] = rs.findtext(q("SetIdentifier"))
        if rs.find(q("Weight")) is not None:
            rr["weight"] = int(rs.findtext(q("Weight")))
        alias = rs.find(q("AliasTarget"))
        if alias is not None:
            rr["alias"] = {"hosted_zone_id": alias.findtext(q("HostedZoneId")),
                           "dns_name": alias.findtext(q("DNSName")),
                           "evaluate_target_health":
                               alias.findtext(q("EvaluateTargetHealth")) == "true"}
        if rs.find(q("TTL")) is not None:
            ttl = rs.findtext(q("TTL"))
            if not re.fullmatch(r"[0-9]+", ttl or "") or int(ttl) > 2**31 - 1:
                raise ApiError(400, "InvalidInput", f"Invalid XML ; TTL '{ttl}' is not valid")
            rr["ttl"] = int(ttl)
        records = rs.find(q("ResourceRecords"))
        if records is not None:
            if len(records) == 0:
                raise ApiError(400, "MalformedInput", "Unexpected list element termination")
            rr["values"] = [r.findtext(q("Value")) or "" for r in records]
        out.append((action, rr))
    return comment, out


# --- the server state -------------------------------------------------------------------

class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.zones = {}        # id -> Zone
        self.references = set()  # CallerReferences used, kept after their zone is deleted
        self.changes = {}      # change id -> {"id", "pending", "submitted", "comment"}
        self.faults = []
        self.log = []
        self.pending_polls = 0
        self.fail_batch = None  # {"n", "times", "applied"}
        self.icb_form = "messages"
        self.listing = None  # {"endless", "repeat", "delay"}

    def take_fault(self, op):
        for i, f in enumerate(self.faults):
            if f.get("op", "any") in (op, "any"):
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    return None
                return self.faults.pop(i)
        return None

    # ChangeResourceRecordSets: validate and apply on a copy; all or nothing.
    def apply(self, zone, changes, entry):
        records = sum(len(rr.get("values", ())) * (2 if a == "UPSERT" else 1) for a, rr in changes)
        chars = sum(sum(map(len, rr.get("values", ()))) * (2 if a == "UPSERT" else 1)
                    for a, rr in changes)
        entry.update(records=records, chars=chars)
        if records > MAX_RECORDS:
            raise InvalidChangeBatch([f"Number of records limit of {MAX_RECORDS} exceeded "
                                      f"({records} ResourceRecord elements, UPSERT counted twice)"])
        if chars > MAX_CHARS:
            raise InvalidChangeBatch([f"Total length of the resource record values {chars} "
                                      f"exceeds the maximum allowed of {MAX_CHARS}"])
        work = dict(zone.rrsets)  # record sets are replaced, never changed in place
        by_name = {}
        for key in work:
            by_name.setdefault(key[0], set()).add(key)
        errors = []
        for action, rr in changes:
            msg = self._apply_one(zone, work, by_name, action, rr)
            if msg:
                errors.append(msg)
        # The apex SOA and NS rules hold for the zone the batch leaves, not
        # change by change: Route 53 validates a batch's changes in order
        # and applies all or none (API reference, ChangeResourceRecordSets,
        # "Change Batches and Transactional Changes"), so DELETE + CREATE of
        # the apex SOA in one batch (how the SOA was changed before UPSERT
        # existed, and zonesync's fence) is taken; a DELETE alone is not.
        if (zone.labels, "SOA", None) not in work:
            errors.append("A HostedZone must contain exactly one SOA record.")
        if (zone.labels, "NS", None) not in work:
            errors.append("A HostedZone must contain at least one NS record for the zone "
                          "itself.")
        if errors:
            raise InvalidChangeBatch(errors)
        zone.rrsets = work

    def _apply_one(self, zone, work, by_name, action, rr):
        key = (rr["labels"], rr["type"], rr.get("set_identifier"))
        name, rtype, desc = format_name(rr["labels"]), rr["type"], rrset_desc(rr)
        if not zone.in_zone(rr["labels"]):
            return f"RRSet with DNS name {name} is not permitted in zone {zone.name}"
        has_rr, has_alias = "values" in rr or "ttl" in rr, "alias" in rr
        if has_rr == has_alias or ("values" in rr) != ("ttl" in rr):
            return ("Invalid Request: Expected exactly one of [AliasTarget, all of [TTL, and "
                    "ResourceRecords], or TrafficPolicyInstanceId], but found none in Change "
                    f"with [Action={action}, Name={name}, Type={rtype}, "
                    f"SetIdentifier={rr.get('set_identifier')}]")
        cur = work.get(key)
        if action == "DELETE":
            if cur is None:
                return f"Tried to delete resource record set {desc} but it was not found"
            same = (cur.get("alias") == rr.get("alias") and cur.get("ttl") == rr.get("ttl")
                    and sorted(cur.get("values", [])) == sorted(rr.get("values", []))
                    and cur.get("weight") == rr.get("weight"))
            if not same:
                return (f"Tried to delete resource record set {desc} but the values "
                        "provided do not match the current values")
            del work[key]
            by_name[key[0]].discard(key)
            return None
        if action == "CREATE" and cur is not None:
            return f"Tried to create resource record set {desc} but it already exists"
        values = rr.get("values", [])
        for v in values:
            if len(v) > MAX_VALUE:
                return (f"Invalid Resource Record: value longer than {MAX_VALUE} "
                        f"characters: '{v[:40]}...'")
        if len(values) > MAX_VALUES:
            return f"RRSet {desc} has {len(values)} values, more than the {MAX_VALUES} allowed"
        dup = {v for v in values if values.count(v) > 1}
        if dup:
            return f"Duplicate Resource Record: '{sorted(dup)[0]}'"
        if rtype in ("CNAME", "SOA") and len(values) > 1:
            return f"RRSet of type {rtype} with DNS name {name} contains more than one value"
        if rtype == "CNAME" and rr["labels"] == zone.labels:
            return (f"RRSet of type CNAME with DNS name {name} is not permitted at apex "
                    f"in zone {zone.name}")
        for labels, t, ident in by_name.get(rr["labels"], ()):
            if (t, ident) == (rtype, rr.get("set_identifier")):
                continue
            if rtype == "CNAME" and t != "CNAME" or t == "CNAME" and rtype != "CNAME":
                if rtype == "CNAME":
                    return (f"RRSet of type CNAME with DNS name {name} is not permitted as it "
                            "conflicts with other records with the same DNS name in zone "
                            f"{zone.name}")
                return (f"RRSet of type {rtype} with DNS name {name} is not permitted because a "
                        f"conflicting RRSet of type CNAME with the same DNS name already exists "
                        f"in zone {zone.name}")
            if t == rtype and (ident is None) != (rr.get("set_identifier") is None):
                what = "a non-weighted set exists" if ident is None else "weighted sets exist"
                return (f"RRSet with DNS name {name}, type {rtype} cannot be created as "
                        f"{what} with the same name and type.")
        work[key] = rr
        by_name.setdefault(key[0], set()).add(key)
        return None


# --- HTTP ---------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeRoute53/1"
    timeout = 60

    def log_message(self, fmt, *args):  # quiet; the request log is in the state
        pass

    @property
    def state(self):
        return self.server.state

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path.startswith("/_fake/"):
            return self.control(method, url.path, body)
        entry = {"method": method, "path": url.path, "query": query, "status": None,
                 "op": None, "fault": None, "content_type": self.headers.get("Content-Type")}
        with self.state.lock:
            self.state.log.append(entry)
        try:
            status, text = self.api(method, url.path, query, body, entry)
        except ApiError as e:
            status, text = e.status, document("ErrorResponse", el(
                "Error", None, el("Type", e.kind), el("Code", e.code), el("Message", e.message)),
                el("RequestId", str(uuid.uuid4())))
        except InvalidChangeBatch as e:
            status, text = 400, self.icb_body(e.messages)
            with self.state.lock:
                entry["errors"] = e.messages
        with self.state.lock:
            entry["status"] = status if status is not None else "dropped"
        if status is None:  # a dropped connection
            self.close_connection = True
            try:
                if entry.get("fault") == "reset-after":  # RST: close with a zero linger
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.connection.close()
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.reply(status, text, "text/xml")

    def icb_body(self, messages):
        rid = el("RequestId", str(uuid.uuid4()))
        if self.state.icb_form == "error":
            return document("ErrorResponse", el("Error", None, el("Type", "Sender"),
                            el("Code", "InvalidChangeBatch"),
                            el("Message", "[" + ", ".join(messages) + "]")), rid)
        return document("InvalidChangeBatch",
                        el("Messages", None, *(el("Message", m) for m in messages)), rid)

    def reply(self, status, text, ctype):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    # --- the Route 53 API
    def api(self, method, path, query, body, entry):
        auth = self.headers.get("Authorization") or ""
        m = re.search(r"Credential=[^/,\s]+/[0-9]{8}/[^/,\s]+/([^/,\s]+)/aws4_request", auth)
        if not auth.startswith("AWS4-HMAC-SHA256 ") or not m or m.group(1) != "route53":
            raise ApiError(403, "MissingAuthenticationToken" if not auth else
                           "IncompleteSignature", "Missing or bad Authorization for route53")
        parts = path.rstrip("/").split("/")
        if parts[:2] != ["", "2013-04-01"]:
            raise ApiError(404, "UnknownOperation", f"No operation at {path}")
        route = (method, tuple(parts[2:3]), len(parts))
        ops = {("GET", ("hostedzonesbyname",), 3): ("zone", self.zones_by_name),
               ("GET", ("hostedzone",), 3): ("zone", self.list_zones),
               ("POST", ("hostedzone",), 3): ("createzone", self.create_hosted_zone),
               ("GET", ("hostedzone",), 4): ("zone", self.get_zone),
               ("GET", ("hostedzone",), 5): ("list", self.list_rrsets),
               ("POST", ("hostedzone",), 5): ("change", self.change),
               ("GET", ("change",), 4): ("getchange", self.get_change)}
        if route not in ops or (len(parts) == 5 and parts[4] != "rrset"):
            raise ApiError(404, "UnknownOperation", f"No operation {method} {path}")
        op, fn = ops[route]
        entry["op"] = op
        if op == "change":
            entry["applied"] = False
            try:  # logged even when a fault answers
                _, changes = parse_change_request(body)
                entry["changes"] = [[a, format_name(r["labels"]), r["type"]] for a, r in changes]
                entry["detail"] = [{"action": a, **rrset_to_json(r)} for a, r in changes]
                entry["batch"] = hashlib.sha256(
                    json.dumps(entry["detail"], sort_keys=True).encode()).hexdigest()[:16]
            except ApiError:
                pass
        hostile = self.state.listing
        if op == "list" and hostile and hostile.get("delay"):
            time.sleep(hostile["delay"])  # not under the lock: the control API answers
        arg = parts[3] if len(parts) > 3 else None
        with self.state.lock:
            fault = self.state.take_fault(op)
            if fault:
                entry["fault"] = fault["fault"]
                f = fault["fault"]
                if f == "close":
                    return None, None
                if f == "InvalidChangeBatch":
                    raise InvalidChangeBatch(fault.get("messages") or [
                        fault.get("message", "Injected InvalidChangeBatch")])
                if f not in ("close-after", "reset-after"):
                    status, kind, code, msg = FAULTS[f]
                    raise ApiError(status, code, fault.get("message", msg), kind)
            status, text = fn(arg, query, body, entry)
            return (None, None) if fault else (status, text)

    def zone(self, zid):
        z = self.state.zones.get(zid)
        if z is None:
            raise ApiError(404, "NoSuchHostedZone", f"No hosted zone found with ID: {zid}")
        return z

    def get_zone(self, zid, query, body, entry):
        z = self.zone(zid)
        ns = el("DelegationSet", None, el("NameServers", None,
                                          *(el("NameServer", n) for n in z.name_servers)))
        return 200, document("GetHostedZoneResponse", zone_xml(z), "" if z.private else ns)

    def zones_by_name(self, _, query, body, entry):
        dnsname, hzid = query.get("dnsname"), query.get("hostedzoneid")
        if hzid is not None and dnsname is None:
            raise ApiError(400, "InvalidInput", "hostedzoneid requires dnsname")
        maxitems = self.maxitems(query, ZONES_PAGE_MAX)
        zones = sorted(self.state.zones.values(), key=lambda z: (sort_key(z.labels), z.id))
        if dnsname is not None:
            start = (sort_key(parse_name(dnsname)), hzid or "")
            zones = [z for z in zones if (sort_key(z.labels), z.id) >= start]
        page, rest = zones[:maxitems], zones[maxitems:]
        out = [el("HostedZones", None, *(zone_xml(z) for z in page))]
        if dnsname is not None:
            out.append(el("DNSName", dnsname))
        if hzid is not None:
            out.append(el("HostedZoneId", hzid))
        out.append(el("IsTruncated", str(bool(rest)).lower()))
        if rest:
            out += [el("NextDNSName", rest[0].name), el("NextHostedZoneId", rest[0].id)]
        out.append(el("MaxItems", maxitems))
        return 200, document("ListHostedZonesByNameResponse", *out)

    def create_hosted_zone(self, _, query, body, entry):
        """CreateHostedZone: one zone per CallerReference, for ever (a reference
        stays used after its zone is deleted: HostedZoneAlreadyExists)."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise ApiError(400, "MalformedInput", f"Could not parse the request XML: {e}")
        q = lambda t: f"{{{NS}}}{t}"  # noqa: E731
        name, ref = root.findtext(q("Name")), root.findtext(q("CallerReference"))
        if root.tag != q("CreateHostedZoneRequest") or not name or not ref or len(ref) > 128:
            raise ApiError(400, "InvalidInput", "Name and CallerReference (1 to 128 "
                           "characters) are required")
        cfg = root.find(q("HostedZoneConfig"))
        private = cfg is not None and cfg.findtext(q("PrivateZone")) == "true"
        if private:
            raise ApiError(400, "InvalidInput", "a private hosted zone needs a VPC")
        entry["caller_reference"] = ref
        if ref in self.state.references:
            raise ApiError(409, "HostedZoneAlreadyExists", "A hosted zone has already been "
                           f"created with the specified caller reference {ref}.")
        self.state.references.add(ref)
        z = Zone(new_id("Z", 21), name)
        z.caller_reference = ref
        z.comment = cfg.findtext(q("Comment")) if cfg is not None else None
        self.state.zones[z.id] = z
        entry["created"] = z.id
        c = {"id": new_id("C"), "pending": 1, "comment": None,
             "submitted": datetime.datetime.now(datetime.timezone.utc)
                                  .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        ns = el("DelegationSet", None, el("NameServers", None,
                                          *(el("NameServer", n) for n in z.name_servers)))
        return 201, document("CreateHostedZoneResponse", zone_xml(z), change_info(c), ns)

    def list_zones(self, _, query, body, entry):
        """ListHostedZones: every zone in id order, paged by Marker (the id
        of the first zone of the page) and NextMarker."""
        maxitems = self.maxitems(query, ZONES_PAGE_MAX)
        zones = sorted(self.state.zones.values(), key=lambda z: z.id)
        marker = query.get("marker")
        if marker is not None:
            zones = [z for z in zones if z.id >= marker]
        page, rest = zones[:maxitems], zones[maxitems:]
        out = [el("HostedZones", None, *(zone_xml(z) for z in page)),
               el("Marker", marker or ""), el("IsTruncated", str(bool(rest)).lower())]
        if rest:
            out.append(el("NextMarker", rest[0].id))
        out.append(el("MaxItems", maxitems))
        return 200, document("ListHostedZonesResponse", *out)

    def maxitems(self, query, limit):
        text = query.get("maxitems", str(limit))
        if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
            raise ApiError(400, "InvalidInput", f"Invalid maxitems: {text}")
        return min(int(text), limit)

    def list_rrsets(self, zid, query, body, entry):
        z = self.zone(zid)
        name, rtype, ident = query.get("name"), query.get("type"), query.get("identifier")
        if rtype is not None and name is None:
            raise ApiError(400, "InvalidInput", "The input is not valid: type without name")
        hostile = self.state.listing
        if hostile and (hostile.get("endless") or hostile.get("repeat")):
            return self.hostile_listing(z, name, hostile)
        if rtype is not None and rtype not in TYPES:
            raise ApiError(400, "InvalidInput", f"Invalid type: {rtype}")
        maxitems = self.maxitems(query, PAGE_MAX)
        sets = z.ordered()
        if name is not None:
            start = sort_key(parse_name(name), rtype or "", ident)
            sets = [r for r in sets
                    if sort_key(r["labels"], r["type"], r.get("set_identifier")) >= start]
        page, rest = sets[:maxitems], sets[maxitems:]
        out = [el("ResourceRecordSets", None, *(rrset_xml(r) for r in page)),
               el("IsTruncated", str(bool(rest)).lower())]
        if rest:
            out += [el("NextRecordName", format_name(rest[0]["labels"])),
                    el("NextRecordType", rest[0]["type"])]
            if rest[0].get("set_identifier") is not None:
                out.append(el("NextRecordIdentifier", rest[0]["set_identifier"]))
        out.append(el("MaxItems", query.get("maxitems", PAGE_MAX)))
        return 200, document("ListResourceRecordSetsResponse", *out)

    def hostile_listing(self, z, name, hostile):
        """Page k of an endless listing: 300 new A sets pK-000 .. pK-299, truncated,
        the next marker at page k+1 (or, repeat, at page 1 every time)."""
        m = re.match(r"p([0-9]+)-", name or "")
        k = int(m.group(1)) if m else 0
        label = lambda page, i: f"p{page:09d}-{i:03d}".encode()  # noqa: E731
        page = [{"labels": (label(k, i),) + z.labels, "type": "A", "ttl": 300,
                 "values": [f"192.0.2.{i % 250 + 1}"]} for i in range(PAGE_MAX)]
        nxt = 1 if hostile.get("repeat") else k + 1
        out = [el("ResourceRecordSets", None, *(rrset_xml(r) for r in page)),
               el("IsTruncated", "true"),
               el("NextRecordName", format_name((label(nxt, 0),) + z.labels)),
               el("NextRecordType", "A"), el("MaxItems", PAGE_MAX)]
        return 200, document("ListResourceRecordSetsResponse", *out)

    def change(self, zid, query, body, entry):
        z = self.zone(zid)
        comment, changes = parse_change_request(body)
        fb = self.state.fail_batch
        if fb and fb["applied"] == fb["n"] - 1 and fb["times"] > 0:
            fb["times"] -= 1
            entry["fault"] = "fail_batch"
            raise ApiError(500, "InternalFailure", "An internal error occurred (fail_batch)",
                           "Receiver")
        self.state.apply(z, changes, entry)
        entry["applied"] = True
        if fb:
            fb["applied"] += 1
        c = {"id": new_id("C"), "pending": self.state.pending_polls, "comment": comment,
             "submitted": datetime.datetime.now(datetime.timezone.utc)
                                  .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        self.state.changes[c["id"]] = c
        entry["change_id"] = c["id"]
        return 200, document("ChangeResourceRecordSetsResponse",
                             change_info({**c, "pending": 1}))

    def get_change(self, cid, query, body, entry):
        c = self.state.changes.get(cid)
        if c is None:
            raise ApiError(404, "NoSuchChange", f"A change with the specified change ID "
                           f"does not exist: {cid}")
        text = document("GetChangeResponse", change_info(c))
        entry["change_status"] = "PENDING" if c["pending"] > 0 else "INSYNC"
        c["pending"] = max(0, c["pending"] - 1)
        return 200, text

    # --- control
    def control(self, method, path, body):
        try:
            data = json.loads(body) if body.strip() else {}
            result = self.server.fake.control(method, path, data)
            self.reply(200, json.dumps(result), "application/json")
        except (KeyError, ValueError, TypeError) as e:
            self.reply(400, json.dumps({"error": f"{type(e).__name__}: {e}"}),
                       "application/json")


class FakeRoute53:
    """The server in a thread: FakeRoute53().start() ... .stop(); .url is its endpoint."""

    def __init__(self, port=0, host="127.0.0.1"):
        self.state = State()
        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.state, self.httpd.fake = self.state, self
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.thread:
            self.httpd.shutdown()
            self.thread.join(10)
            self.thread = None
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- control methods (also behind /_fake/)
    def reset(self):
        with self.state.lock:
            self.state.reset()

    def create_zone(self, name, zid=None, private=False):
        with self.state.lock:
            z = Zone(zid or new_id("Z", 21), name, private)
            self.state.zones[z.id] = z
            return z.id

    def delete_zone(self, zid):
        """Delete a hosted zone as a user would (its CallerReference stays used)."""
        with self.state.lock:
            del self.state.zones[zid]

    def zones(self):
        with self.state.lock:
            return [{"id": z.id, "name": z.name, "private": z.private}
                    for z in self.state.zones.values()]

    def rrsets(self, zid):
        with self.state.lock:
            return [rrset_to_json(r) for r in self.state.zones[zid].ordered()]

    def edit(self, zid, put=(), delete=()):
        with self.state.lock:
            z = self.state.zones[zid]
            for d in delete:
                z.rrsets.pop((parse_name(d["name"]), d["type"].upper(),
                              d.get("set_identifier")), None)
            for d in put:
                z.put(rrset_from_json(d))

    def add_faults(self, faults):
        with self.state.lock:
            for f in faults:
                if f["fault"] not in FAULTS and f["fault"] not in (
                        "close", "close-after", "reset-after", "InvalidChangeBatch"):
                    raise ValueError(f"unknown fault {f['fault']}")
                self.state.faults.append(dict(f))

    def faults(self):
        with self.state.lock:
            return [dict(f) for f in self.state.faults]

    def clear_faults(self):
        with self.state.lock:
            self.state.faults = []

    def configure(self, pending_polls=None, fail_batch=False, icb_form=None, listing=False):
        with self.state.lock:
            if listing is not False:
                self.state.listing = None if listing is None else dict(listing)
            if pending_polls is not None:
                self.state.pending_polls = int(pending_polls)
            if fail_batch is not False:
                self.state.fail_batch = None if fail_batch is None else {
                    "n": int(fail_batch["n"]), "times": int(fail_batch.get("times", 1)),
                    "applied": 0}
            if icb_form is not None:
                if icb_form not in ("messages", "error"):
                    raise ValueError(f"icb_form: {icb_form}")
                self.state.icb_form = icb_form

    def log(self):
        with self.state.lock:
            return copy.deepcopy(self.state.log)

    def clear_log(self):
        with self.state.lock:
            self.state.log = []

    def control(self, method, path, data):
        parts = path.rstrip("/").split("/")[2:]
        if (method, parts) == ("POST", ["reset"]):
            self.reset()
            return {}
        if parts == ["zones"]:
            if method == "POST":
                return {"id": self.create_zone(data["name"], data.get("id"),
                                               bool(data.get("private")))}
            return self.zones()
        if method == "DELETE" and len(parts) == 2 and parts[0] == "zones":
            self.delete_zone(parts[1])
            return {}
        if len(parts) == 3 and parts[0] == "zones" and parts[2] == "rrsets":
            if method == "POST":
                self.edit(parts[1], data.get("put", ()), data.get("delete", ()))
                return {}
            return self.rrsets(parts[1])
        if parts == ["faults"]:
            if method == "POST":
                self.add_faults(data["faults"])
            elif method == "DELETE":
                self.clear_faults()
            return {} if method != "GET" else self.faults()
        if (method, parts) == ("POST", ["config"]):
            self.configure(data.get("pending_polls"), data.get("fail_batch", False),
                           data.get("icb_form"), data.get("listing", False))
            return {}
        if parts == ["log"]:
            if method == "DELETE":
                self.clear_log()
                return {}
            return self.log()
        raise KeyError(f"no control endpoint {method} {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--zone", action="append", default=[], metavar="NAME[=ID]",
                    help="create a hosted zone at start")
    ap.add_argument("--pending-polls", type=int, default=0)
    args = ap.parse_args()
    fake = FakeRoute53(args.port, args.host)
    for z in args.zone:
        name, _, zid = z.partition("=")
        fake.create_zone(name, zid or None)
    fake.configure(pending_polls=args.pending_polls)
    print("ready", flush=True)
    try:
        fake.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.httpd.server_close()


if __name__ == "__main__":
    main()
