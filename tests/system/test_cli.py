"""The diff and check subcommands, run as a user runs them."""
import glob
import json
import os
import pwd
import re
import shutil
import tempfile

from conftest import ROOT

EX = os.path.join(ROOT, "examples")
OLD = os.path.join(EX, "example.com.zone")
NEW = os.path.join(EX, "example.com.new.zone")


def test_diff_reports_changes(zonesync):
    r = zonesync("diff", OLD, NEW)
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines == [
        "~ example.com. SOA",
        "  - example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026112701 7200 3600 1209600 300",
        "  + example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026112702 7200 3600 1209600 300",
        "+ api.example.com. 300 IN A 192.0.2.90",
        "+ api.example.com. 300 IN A 192.0.2.91",
        "- old.example.com. 3600 IN CNAME www.example.com.",
        "~ www.example.com. A",
        "  - www.example.com. 300 IN A 192.0.2.80",
        "  + www.example.com. 300 IN A 192.0.2.81",
        "1 added, 2 changed, 1 deleted RRsets",
    ]


def test_diff_equal(zonesync):
    r = zonesync("diff", OLD, OLD)
    assert r.returncode == 0
    assert r.stdout == "0 added, 0 changed, 0 deleted RRsets\n"


def test_diff_json(zonesync):
    r = zonesync("diff", "--json", OLD, NEW)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["old"] == {"file": OLD, "origin": "example.com.", "serial": 2026112701,
                          "rrsets": 11, "records": 12}
    assert doc["new"]["serial"] == 2026112702
    assert doc["summary"] == {"added": 1, "changed": 2, "deleted": 1}
    actions = [(c["action"], c["name"], c["type"]) for c in doc["changes"]]
    assert actions == [("replace", "example.com.", "SOA"), ("add", "api.example.com.", "A"),
                       ("delete", "old.example.com.", "CNAME"),
                       ("replace", "www.example.com.", "A")]
    www = doc["changes"][3]
    assert www["old"] == {"ttl": 300, "rdata": ["192.0.2.80"]}
    assert www["new"] == {"ttl": 300, "rdata": ["192.0.2.81"]}
    assert "new" not in doc["changes"][2] and "old" not in doc["changes"][1]


def test_diff_json_escapes(zonesync, tmp_path):
    a = tmp_path / "a.zone"
    b = tmp_path / "b.zone"
    head = "$ORIGIN q.test.\n@ 60 SOA ns hm 1 1 1 1 1\n"
    a.write_text(head)
    b.write_text(head + 't 60 TXT "say \\"hi\\"" "back\\\\slash" "\\009tab"\n')
    r = zonesync("diff", "--json", a, b)
    doc = json.loads(r.stdout)
    assert doc["changes"][0]["new"]["rdata"] == ['"say \\"hi\\"" "back\\\\slash" "\\009tab"']


def test_diff_bad_zone_no_partial_output(zonesync, tmp_path):
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN example.com.\n@ SOA ns hm 1 1 1 1 1\nok A 192.0.2.1\n\nwww A 192.0.2.999\n")
    r = zonesync("diff", OLD, bad)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == f"{bad}:5: invalid IPv4 address\n" or r.stderr.startswith(f"{bad}:5: ")


def test_diff_input_errors(zonesync, tmp_path):
    r = zonesync("diff", OLD, tmp_path / "missing.zone")
    assert r.returncode == 2 and "missing.zone: cannot open: No such file or directory" in r.stderr
    other = tmp_path / "other.zone"
    other.write_text("$ORIGIN example.org.\n@ SOA ns hm 1 1 1 1 1\n")
    r = zonesync("diff", OLD, other)
    assert r.returncode == 2
    assert "is zone example.com. but" in r.stderr and "is zone example.org." in r.stderr
    r = zonesync("diff", OLD)
    assert r.returncode == 2 and "expected two zone files" in r.stderr
    r = zonesync("diff", "--origin", "bad..name", OLD, NEW)
    assert r.returncode == 2 and "not a valid domain name" in r.stderr
    r = zonesync("diff", "--bogus", OLD, NEW)
    assert r.returncode == 2


def test_diff_origin(zonesync, tmp_path):
    # Relative names without $ORIGIN: --origin supplies it for both files.
    a = tmp_path / "a.zone"
    b = tmp_path / "b.zone"
    a.write_text("@ 60 SOA ns hm 1 1 1 1 1\nwww 60 A 192.0.2.1\n")
    b.write_text("@ 60 SOA ns hm 2 1 1 1 1\nwww 60 A 192.0.2.1\n")
    r = zonesync("diff", "--origin", "Example.NET", a, b)
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == "~ example.net. SOA"
    # Without it, the root is the origin and the SOA owner the apex.
    r = zonesync("diff", a, b)
    assert r.returncode == 1 and r.stdout.splitlines()[0] == "~ . SOA"


def test_diff_stats(zonesync):
    r = zonesync("diff", "--stats", OLD, NEW)
    assert r.returncode == 1
    assert r.stderr.startswith("stats: load_old=") and "peak_rss=" in r.stderr


def test_help_and_version(zonesync):
    for args in (["--help"], ["diff", "--help"], ["check", "--help"]):
        r = zonesync(*args)
        assert r.returncode == 0 and r.stdout.startswith("usage: zonesync")
    r = zonesync()
    assert r.returncode == 2 and "usage:" in r.stderr
    r = zonesync("frobnicate")
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
    r = zonesync("--version")
    assert r.returncode == 0 and r.stdout.startswith("zonesync ")


def test_check_examples(zonesync, tmp_path):
    """Each example checks; one whose server.user (zonesync) this machine
    lacks is refused for that alone, and checks without it (its files, in
    /etc/zonesync, are not here either)."""
    examples = sorted(glob.glob(os.path.join(EX, "*.yaml")))
    assert len(examples) >= 7
    copy = tmp_path / "examples"
    shutil.copytree(EX, copy)
    for path in examples:
        r = zonesync("check", "-c", path)
        text = open(path).read()
        m = re.search(r"^  user: (\S+)", text, re.M)
        if m and not known_user(m.group(1)):
            assert r.returncode == 2, f"{path}: {r.stdout}"
            line = text[:m.start()].count("\n") + 1
            assert r.stderr == (f"{path}:{line}:9: server.user: no user '{m.group(1)}'\n"), \
                r.stderr
            path = str(copy / os.path.basename(path))
            with open(path, "w") as f:
                f.write(text.replace(m.group(0), ""))
            r = zonesync("check", "-c", path)
        assert r.returncode == 0, f"{path}: {r.stderr}"
        assert r.stdout.startswith(f"{path}: ok: ")


def known_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_check_server_user_reads(zonesync):
    """With server.user, check refuses an unknown user and each file the
    daemon would read that the user cannot, at the key's place; the file's
    mode and owner are in the message."""
    d = tempfile.mkdtemp()
    try:
        os.chmod(d, 0o755)
        secret = os.path.join(d, "xfr.key")
        with open(secret, "w") as f:
            f.write("c2VjcmV0c2VjcmV0c2VjcmV0\n")
        creds = os.path.join(d, "aws-credentials")
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n")
        os.chmod(secret, 0o600)
        os.chmod(creds, 0o640)
        conf = os.path.join(d, "z.yaml")
        with open(conf, "w") as f:
            f.write("server:\n  user: nobody\n"
                    "key:\n  - { id: xfr, algorithm: hmac-sha256, secret-file: xfr.key }\n"
                    "primary:\n  - { id: p, address: 192.0.2.1, key: xfr }\n"
                    "target:\n  - id: aws\n    type: route53\n"
                    f"    credentials-file: {creds}\n"
                    "zone:\n  - { domain: example.com, primary: p, target: aws }\n")
        r = zonesync("check", "-c", conf)
        assert r.returncode == 2 and r.stdout == "", r.stderr
        errs = r.stderr.splitlines()
        assert len(errs) == 2, r.stderr
        assert errs[0].startswith(f"{conf}:4:53: secret-file '{secret}': not readable by "
                                  "server.user 'nobody' (uid 65534, gid 65534): mode 0600, "
                                  f"owner {os.geteuid()}, group "), errs
        assert errs[1].startswith(f"{conf}:10:23: credentials-file '{creds}': not readable "
                                  "by server.user 'nobody'"), errs
        assert ": mode 0640, owner " in errs[1], errs

        os.chmod(secret, 0o644)
        os.chmod(creds, 0o644)
        r = zonesync("check", "-c", conf)
        assert r.returncode == 0, r.stderr

        os.chmod(d, 0o700)  # the file allows, its directory does not
        r = zonesync("check", "-c", conf)
        if os.geteuid() == 0:  # only root can ask as nobody
            assert r.returncode == 2, r.stdout
            assert "a directory of its path is closed to it" in r.stderr, r.stderr
        os.chmod(d, 0o755)

        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("user: nobody", "user: no-such-user-zs"))
        r = zonesync("check", "-c", conf)
        assert r.returncode == 2
        assert r.stderr == f"{conf}:2:9: server.user: no user 'no-such-user-zs'\n", r.stderr
    finally:
        shutil.rmtree(d)


def test_check_errors(zonesync, tmp_path):
    conf = tmp_path / "z.yaml"
    conf.write_text("primary:\n  - id: p\n    address: 192.0.2.1@99999\n"
                    "zone:\n  - domain: example.com\n    primary: nope\n    colour: blue\n")
    r = zonesync("check", "-c", conf)
    assert r.returncode == 2
    assert r.stdout == ""
    errs = r.stderr.splitlines()
    assert f"{conf}:3:14: 'address': bad address '192.0.2.1@99999', expected IP[@PORT]" in errs
    assert any(e.startswith(f"{conf}:7:5: unknown key 'colour'") for e in errs)
    assert any(e.startswith(f"{conf}:6:14: ") and "primary 'nope' is not defined" in e
               for e in errs)
    r = zonesync("check", "-c", tmp_path / "none.yaml")
    assert r.returncode == 2 and "cannot open" in r.stderr
    r = zonesync("check", "extra")
    assert r.returncode == 2


def test_check_warns_of_unfenced_targets_with_two_instances(zonesync, tmp_path):
    """server.instances over 1: each route53 or rfc2136 target without
    soa-serial: mirror is named with why (its pushes are not fenced); a
    mirror one, a PowerDNS one (its copy holds the primary's SOA) and a
    zone file (this host's own) are not.  With 1 (the default), no warning."""
    def conf(instances):
        path = tmp_path / f"two{instances}.yaml"
        key = tmp_path / "pdns.key"
        key.write_text("k\n")
        path.write_text(f"""server: {{ instances: {instances}, state: "{tmp_path}" }}
primary: [ {{ id: p, address: 127.0.0.1@5300 }} ]
target:
  - {{ id: aws, type: route53, hosted-zone-id: Z1, endpoint: "http://127.0.0.1:9" }}
  - {{ id: aws2, type: route53, hosted-zone-id: Z2, endpoint: "http://127.0.0.1:9",
      soa-serial: mirror }}
  - {{ id: upd, type: rfc2136, address: 127.0.0.1@5301 }}
  - {{ id: pdns, type: powerdns, url: "http://127.0.0.1:9", api-key-file: "{key}" }}
  - {{ id: file, type: zonefile, path: "{tmp_path}/%s.zone" }}
zone: [ {{ domain: example.com, primary: p, target: [aws, aws2, upd, pdns, file] }} ]
""")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK",
               "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9"}
        return zonesync("check", "-c", path, env=env)
    r = conf(2)
    assert r.returncode == 0, r.stderr
    warned = re.findall(r"^warning: target (\S+): server\.instances is 2 but its soa-serial is "
                        r"not mirror: its pushes are not fenced", r.stderr, re.M)
    assert warned == ["aws", "upd"], r.stderr
    r = conf(1)
    assert r.returncode == 0 and "server.instances" not in r.stderr, r.stderr
