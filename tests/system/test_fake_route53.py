"""The fake Route 53 server (fake_route53.py) driven with botocore: it must be
faithful enough for the route53 target's fault tests (atomic batches, strict
DELETE, limits, paging, both error forms that botocore parses, faults)."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest

botocore = pytest.importorskip("botocore")  # python3-botocore
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402

from fake_route53 import FakeRoute53, format_name, parse_name  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def fake():
    f = FakeRoute53().start()
    yield f
    f.stop()


@pytest.fixture
def r53(fake):
    session = botocore.session.get_session()
    return session.create_client(
        "route53", endpoint_url=fake.url, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def change(action, name, rtype, ttl, *values):
    return {"Action": action, "ResourceRecordSet": {
        "Name": name, "Type": rtype, "TTL": ttl,
        "ResourceRecords": [{"Value": v} for v in values]}}


def send(r53, zid, *changes):
    return r53.change_resource_record_sets(HostedZoneId=zid,
                                           ChangeBatch={"Changes": list(changes)})


def refused(r53, zid, *changes):
    """The error response of a refused batch (botocore's parse)."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        send(r53, zid, *changes)
    return e.value.response


def icb_messages(resp, fake):
    """The messages of an InvalidChangeBatch in its own form.  botocore parses
    this form with Code '' and keeps a single Message only (several come out
    as {}): check that much, then take the messages from the fake's log."""
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert resp["Error"]["Code"] == "" and "Messages" in resp
    msgs = fake.log()[-1]["errors"]
    if len(msgs) == 1:
        assert resp["Messages"]["Message"] == msgs[0]
    return msgs


def simple(fake, zid):
    """{(name, type): (ttl, sorted values)} of the store, apex SOA and NS left out."""
    return {(r["name"], r["type"]): (r["ttl"], sorted(r["values"]))
            for r in fake.rrsets(zid) if r["type"] not in ("SOA", "NS")}


def test_zone_created_with_soa_and_ns(fake, r53):
    zid = fake.create_zone("Example.COM")
    z = r53.get_hosted_zone(Id=zid)
    assert z["HostedZone"]["Id"] == f"/hostedzone/{zid}"
    assert z["HostedZone"]["Name"] == "example.com."
    assert len(z["DelegationSet"]["NameServers"]) == 4
    sets = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
    assert [(s["Name"], s["Type"]) for s in sets] == [("example.com.", "NS"),
                                                      ("example.com.", "SOA")]
    assert sorted(v["Value"].rstrip(".") for v in sets[0]["ResourceRecords"]) == \
        sorted(z["DelegationSet"]["NameServers"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        r53.get_hosted_zone(Id="ZNOPE")
    assert e.value.response["Error"]["Code"] == "NoSuchHostedZone"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_zones_by_name_starts_at_dnsname_and_pages(fake, r53):
    ids = {n: fake.create_zone(n) for n in ["b.example.", "a.example.", "example.", "c.other."]}
    r = r53.list_hosted_zones_by_name(DNSName="a.example")
    # Starting at a.example. in reversed-label order, not only exact matches.
    assert [z["Name"] for z in r["HostedZones"]] == ["a.example.", "b.example.", "c.other."]
    r = r53.list_hosted_zones_by_name(DNSName="aa.example", MaxItems="1")
    assert [z["Name"] for z in r["HostedZones"]] == ["b.example."]
    assert r["IsTruncated"] and r["NextDNSName"] == "c.other."
    r = r53.list_hosted_zones_by_name(DNSName=r["NextDNSName"],
                                      HostedZoneId=r["NextHostedZoneId"], MaxItems="1")
    assert [z["Id"] for z in r["HostedZones"]] == [f"/hostedzone/{ids['c.other.']}"]
    assert not r["IsTruncated"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        r53.list_hosted_zones_by_name(HostedZoneId="Z1")
    assert e.value.response["Error"]["Code"] == "InvalidInput"


def test_batch_is_atomic(fake, r53):
    zid = fake.create_zone("example.com")
    send(r53, zid, change("CREATE", "a.example.com", "A", 300, "192.0.2.1"))
    resp = refused(r53, zid,
                   change("CREATE", "b.example.com", "A", 300, "192.0.2.2"),
                   change("UPSERT", "a.example.com", "A", 60, "192.0.2.9"),
                   change("DELETE", "gone.example.com", "TXT", 300, '"x"'),
                   change("CREATE", "a.example.com.", "A", 300, "192.0.2.1"))
    msgs = icb_messages(resp, fake)
    assert msgs == ["Tried to delete resource record set [name='gone.example.com.', "
                    "type='TXT'] but it was not found",
                    "Tried to create resource record set [name='a.example.com.', type='A'] "
                    "but it already exists"]
    assert simple(fake, zid) == {("a.example.com.", "A"): (300, ["192.0.2.1"])}
    log = fake.log()[-1]
    assert log["status"] == 400 and not log["applied"]
    assert log["changes"][0] == ["CREATE", "b.example.com.", "A"]


def test_strict_delete(fake, r53):
    zid = fake.create_zone("example.com")
    send(r53, zid, change("CREATE", "www.example.com", "A", 300, "192.0.2.1", "192.0.2.2"),
         change("CREATE", "t.example.com", "TXT", 60, '"a b"'))
    mismatch = ("Tried to delete resource record set [name='www.example.com.', type='A'] "
                "but the values provided do not match the current values")
    for ttl, values in [(301, ["192.0.2.1", "192.0.2.2"]), (300, ["192.0.2.1"]),
                        (300, ["192.0.2.1", "192.0.2.2", "192.0.2.3"])]:
        assert icb_messages(refused(r53, zid, change("DELETE", "www.example.com", "A", ttl,
                                                     *values)), fake) == [mismatch]
    # Text compared exactly: the same TXT rdata written otherwise does not match.
    assert "do not match" in icb_messages(refused(
        r53, zid, change("DELETE", "t.example.com", "TXT", 60, '"a" "b"')), fake)[0]
    # Names: any case, with or without the trailing dot; values in any order.
    send(r53, zid, change("DELETE", "WWW.Example.COM", "A", 300, "192.0.2.2", "192.0.2.1"),
         change("DELETE", "t.example.com.", "TXT", 60, '"a b"'))
    assert simple(fake, zid) == {}


def test_apex_soa_ns_upsert_but_never_delete(fake, r53):
    zid = fake.create_zone("example.com")
    apex = {(r["name"], r["type"]): r for r in fake.rrsets(zid)}
    soa, ns = apex[("example.com.", "SOA")], apex[("example.com.", "NS")]
    resp = refused(r53, zid, change("DELETE", "example.com", "SOA", soa["ttl"], *soa["values"]),
                   change("DELETE", "example.com", "NS", ns["ttl"], *ns["values"]))
    msgs = icb_messages(resp, fake)
    assert msgs == ["A HostedZone must contain exactly one SOA record.",
                    "A HostedZone must contain at least one NS record for the zone itself."]
    assert "already exists" in icb_messages(refused(
        r53, zid, change("CREATE", "example.com", "NS", 300, "ns1.example.net.")), fake)[0]
    send(r53, zid, change("UPSERT", "example.com", "NS", 300, "ns1.example.net."))
    got = {(r["name"], r["type"]): r for r in fake.rrsets(zid)}[("example.com.", "NS")]
    assert (got["ttl"], got["values"]) == (300, ["ns1.example.net."])


def test_cname_conflicts_checked_change_by_change(fake, r53):
    zid = fake.create_zone("example.com")
    send(r53, zid, change("CREATE", "w.example.com", "A", 300, "192.0.2.1"))
    msg = icb_messages(refused(r53, zid, change("CREATE", "w.example.com", "CNAME", 300,
                                                "x.example.net.")), fake)[0]
    assert "conflicts with other records" in msg
    # DELETE before CREATE in one batch is fine.
    send(r53, zid, change("DELETE", "w.example.com", "A", 300, "192.0.2.1"),
         change("CREATE", "w.example.com", "CNAME", 300, "x.example.net."))
    assert simple(fake, zid) == {("w.example.com.", "CNAME"): (300, ["x.example.net."])}


def test_limits(fake, r53):
    zid = fake.create_zone("example.com")

    def sets(n, action, prefix):
        return [change(action, f"{prefix}{i}.example.com", "A", 300, f"10.0.{i // 250}.{i % 250}")
                for i in range(n)]
    send(r53, zid, *sets(1000, "CREATE", "c"))
    assert "limit of 1000" in icb_messages(refused(r53, zid, *sets(1001, "CREATE", "d")), fake)[0]
    # An UPSERT counts twice.
    assert "limit of 1000" in icb_messages(refused(r53, zid, *sets(501, "UPSERT", "u")), fake)[0]
    send(r53, zid, *sets(500, "UPSERT", "u"))
    # 32,000 characters of Value text: 8 values of 4,000; one more character is too much.
    txt = ['"' + "x" * 3998 + '"'] * 8
    send(r53, zid, *[change("CREATE", f"t{i}.example.com", "TXT", 300, txt[i]) for i in range(8)])
    resp = refused(r53, zid, *[change("CREATE", f"s{i}.example.com", "TXT", 300, txt[i])
                               for i in range(8)], change("CREATE", "a.example.com", "A", 1, "1"))
    assert "exceeds the maximum allowed of 32000" in icb_messages(resp, fake)[0]
    resp = refused(r53, zid, change("CREATE", "big.example.com", "TXT", 300,
                                    '"' + "x" * 3999 + '"'))
    assert "longer than 4000" in icb_messages(resp, fake)[0]
    log = [e for e in fake.log() if e["op"] == "change"]
    chars = lambda n: sum(len(f"10.0.{i // 250}.{i % 250}") for i in range(n))  # noqa: E731
    assert [(e["records"], e["chars"], e["applied"]) for e in log] == \
        [(1000, chars(1000), True), (1001, chars(1001), False), (1002, 2 * chars(501), False),
         (1000, 2 * chars(500), True), (8, 32000, True), (9, 32001, False), (1, 4001, False)]


def test_paging_order_and_names(fake, r53):
    zid = fake.create_zone("example.com")
    names = [f"h{i:03d}.example.com" for i in range(650)] + ["*.example.com", "A.B.example.com",
                                                             "x\\.y.example.com"]
    for i in range(0, len(names), 300):
        send(r53, zid, *[change("CREATE", n, "A", 60, "192.0.2.1") for n in names[i:i + 300]])
    send(r53, zid, change("CREATE", "b.example.com", "TXT", 60, '"t"'),
         change("CREATE", "b.example.com", "AAAA", 60, "2001:db8::1"))
    got, kw, pages = [], {}, 0
    while True:
        r = r53.list_resource_record_sets(HostedZoneId=zid, **kw)
        pages += 1
        assert len(r["ResourceRecordSets"]) <= 300
        got += [(s["Name"], s["Type"]) for s in r["ResourceRecordSets"]]
        if not r["IsTruncated"]:
            break
        kw = {"StartRecordName": r["NextRecordName"], "StartRecordType": r["NextRecordType"]}
    assert pages == 3 and len(got) == len(set(got)) == 657
    assert got == sorted(got, key=lambda nt: (tuple(reversed(parse_name(nt[0]))), nt[1]))
    assert ("\\052.example.com.", "A") in got and ("a.b.example.com.", "A") in got
    assert ("x\\056y.example.com.", "A") in got
    i = got.index(("b.example.com.", "AAAA"))
    assert got[i:i + 3] == [("b.example.com.", "AAAA"), ("b.example.com.", "TXT"),
                            ("a.b.example.com.", "A")]
    # Start at a name that does not exist: the next one in order; octal escapes decoded.
    r = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName="\\052.example.com",
                                      MaxItems="2")
    assert [s["Name"] for s in r["ResourceRecordSets"]] == ["\\052.example.com.",
                                                            "b.example.com."]
    r = r53.list_resource_record_sets(HostedZoneId=zid, StartRecordName="h0005.example.com",
                                      MaxItems="1")
    assert r["ResourceRecordSets"][0]["Name"] == "h001.example.com."
    assert format_name(parse_name("\\052.EX\\101mple.com")) == "\\052.example.com."
    with pytest.raises(botocore.exceptions.ClientError) as e:
        r53.list_resource_record_sets(HostedZoneId=zid, StartRecordType="A")
    assert e.value.response["Error"]["Code"] == "InvalidInput"


def test_error_forms_parsed_by_botocore(fake, r53):
    zid = fake.create_zone("example.com")
    fake.add_faults([{"op": "change", "fault": "Throttling"},
                     {"op": "change", "fault": "PriorRequestNotComplete"},
                     {"op": "list", "fault": "503"}])
    for code in ("Throttling", "PriorRequestNotComplete"):
        resp = refused(r53, zid, change("CREATE", "a.example.com", "A", 1, "192.0.2.1"))
        assert resp["Error"]["Code"] == code
        assert resp["Error"]["Type"] == "Sender"
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(botocore.exceptions.ClientError) as e:
        r53.list_resource_record_sets(HostedZoneId=zid)
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    # The InvalidChangeBatch form, raw, then in the ErrorResponse form.
    body = ('<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns='
            '"https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change>'
            '<Action>DELETE</Action><ResourceRecordSet><Name>x.example.com</Name><Type>A</Type>'
            '<TTL>1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value>'
            '</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes>'
            '</ChangeBatch></ChangeResourceRecordSetsRequest>')
    status, text = raw(fake, f"/2013-04-01/hostedzone/{zid}/rrset/", body)
    assert status == 400 and "<InvalidChangeBatch xmlns=" in text
    assert "<Messages><Message>Tried to delete resource record set [name='x.example.com.', " \
           "type='A'] but it was not found</Message></Messages><RequestId>" in text
    fake.configure(icb_form="error")
    resp = refused(r53, zid, change("DELETE", "x.example.com", "A", 1, "192.0.2.1"))
    assert resp["Error"]["Code"] == "InvalidChangeBatch"
    assert resp["Error"]["Message"] == ("[Tried to delete resource record set [name="
                                        "'x.example.com.', type='A'] but it was not found]")
    # Elements out of schema order: InvalidInput.
    status, text = raw(fake, f"/2013-04-01/hostedzone/{zid}/rrset/",
                       body.replace("<Type>A</Type><TTL>1</TTL>", "<TTL>1</TTL><Type>A</Type>"))
    assert status == 400 and "<Code>InvalidInput</Code>" in text
    # No SigV4 Authorization for route53: 403.
    status, text = raw(fake, f"/2013-04-01/hostedzone/{zid}", auth=None)
    assert status == 403 and "<ErrorResponse" in text
    status, _ = raw(fake, f"/2013-04-01/hostedzone/{zid}", auth=AUTH.replace("route53", "s3"))
    assert status == 403


AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/route53/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00")


def raw(fake, path, body=None, auth=AUTH):
    req = urllib.request.Request(fake.url + path, data=body.encode() if body else None,
                                 method="POST" if body else "GET")
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_faults_pending_and_log(fake, r53):
    zid = fake.create_zone("example.com")
    a = change("UPSERT", "a.example.com", "A", 1, "192.0.2.1")
    fake.add_faults([{"op": "list", "fault": "500"}, {"op": "change", "fault": "close"},
                     {"op": "change", "fault": "close-after"}])
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        send(r53, zid, a)
    assert simple(fake, zid) == {}
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        send(r53, zid, a)
    assert simple(fake, zid) == {("a.example.com.", "A"): (1, ["192.0.2.1"])}
    assert fake.faults() == [{"op": "list", "fault": "500"}]
    # The Nth batch (counted from the call, by applied batches) fails with a 500, K times.
    fake.configure(pending_polls=2, fail_batch={"n": 2, "times": 2})
    cid = send(r53, zid, a)["ChangeInfo"]["Id"].split("/")[-1]
    for _ in range(2):
        assert refused(r53, zid, a)["ResponseMetadata"]["HTTPStatusCode"] == 500
    send(r53, zid, a)
    assert [r53.get_change(Id=cid)["ChangeInfo"]["Status"] for _ in range(3)] == \
        ["PENDING", "PENDING", "INSYNC"]
    changes = [(e["status"], e["fault"], e["applied"]) for e in fake.log() if e["op"] == "change"]
    assert changes == [("dropped", "close", False), ("dropped", "close-after", True),
                       (200, None, True), (500, "fail_batch", False),
                       (500, "fail_batch", False), (200, None, True)]
    fake.reset()
    assert fake.zones() == [] and fake.log() == []


def test_seeded_alias_and_weighted_sets(fake, r53):
    zid = fake.create_zone("example.com")
    fake.edit(zid, put=[
        {"name": "lb.example.com", "type": "A", "alias": {
            "hosted_zone_id": "Z2", "dns_name": "lb-1.elb.amazonaws.com.",
            "evaluate_target_health": False}},
        {"name": "w.example.com", "type": "A", "ttl": 60, "values": ["192.0.2.1"],
         "set_identifier": "one", "weight": 10}])
    sets = {s["Name"]: s for s in r53.list_resource_record_sets(HostedZoneId=zid)
            ["ResourceRecordSets"]}
    assert sets["lb.example.com."]["AliasTarget"]["DNSName"] == "lb-1.elb.amazonaws.com."
    assert sets["w.example.com."]["SetIdentifier"] == "one"
    msg = icb_messages(refused(r53, zid, change("CREATE", "w.example.com", "A", 60,
                                                "192.0.2.2")), fake)[0]
    assert "weighted sets exist" in msg
    assert "not found" in icb_messages(refused(
        r53, zid, change("DELETE", "w.example.com", "A", 60, "192.0.2.1")), fake)[0]


def test_command_line(tmp_path):
    from servers import free_port
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_route53.py"), "--port",
                          str(port), "--zone", "example.com=ZTEST"], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/zones", timeout=5) as r:
            assert json.load(r) == [{"id": "ZTEST", "name": "example.com.", "private": False}]
    finally:
        p.terminate()
        p.wait(10)
