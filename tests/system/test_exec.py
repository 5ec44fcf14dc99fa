"""The exec target, run by the daemon after each transfer: arguments, the
JSON summary on stdin and the environment, failures, timeouts, big output;
and that no exec target, however it behaves, holds up the others."""
import json
import os
import time

import dns.name


from conftest import ROOT
from servers import Knot, Zonesync, free_port, new_secret, wait_until  # noqa: F401

ZONE = "example.com."
ZONE_TEXT = """$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.2
"""


def binary():
    return os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))


class Lab:
    def __init__(self, tmp, hooks, timeout=5):
        """hooks: {id: shell script text}; each becomes an exec target
        (run through /bin/sh by the script's own #!, never by zonesync)."""
        self.tmp = tmp
        self.secret = new_secret()
        self.zs_port = free_port()
        self.knot = Knot(tmp / "knot", {ZONE: ZONE_TEXT}, self.zs_port, secret=self.secret)
        self.zs = Zonesync(binary(), tmp / "zs", [{"id": "p", "address": "[127.0.0.1@%d]"
                                                   % self.knot.port, "key": "xfr"}],
                           [{"domain": ZONE, "primary": "p"}], keys={"xfr": self.secret}, port=self.zs_port)
        # Rewrite the target list: the zonefile target "file" plus the hooks.
        conf = open(self.zs.conf).read()
        extra = ""
        for hid, text in hooks.items():
            path = tmp / f"{hid}.sh"
            path.write_text(text)
            path.chmod(0o755)
            extra += (f"  - {{ id: {hid}, type: exec, command: [{path}, --flag], "
                      f"timeout: {timeout} }}\n")
        conf = conf.replace("zone:\n", extra + "zone:\n")
        ids = ", ".join(["file", *hooks])
        conf = conf.replace("target: [file]", f"target: [{ids}]")
        open(self.zs.conf, "w").write(conf)

    def __enter__(self):
        self.knot.start()
        self.zs.start()
        return self

    def __exit__(self, *exc):
        self.zs.stop()
        self.knot.stop()
        assert self.zs.problems() == [], self.zs.log()


RECORDER = """#!/bin/sh
out="{out}"
printf '%s\\n' "$@" > "$out.args"
cat > "$out.stdin"
env | grep '^ZONESYNC_' | sort > "$out.tmp"
mv "$out.tmp" "$out.env"
echo ran
"""


def test_exec_gets_arguments_summary_and_environment(tmp_path):
    out = tmp_path / "rec"
    with Lab(tmp_path, {"hook": RECORDER.format(out=out)}) as lab:
        wait_until(lambda: os.path.exists(f"{out}.env"), 15, what="first run")
        assert open(f"{out}.args").read().split() == ["--flag", "example.com", "1", "127.0.0.1"]
        first = json.loads(open(f"{out}.stdin").read())
        assert first["zone"] == ZONE and first["serial"] == 1
        assert first["previous_serial"] is None and first["transfer"] == "AXFR"
        os.unlink(f"{out}.env")
        serial = lab.knot.change(ZONE, set=[("new", 300, "A", "192.0.2.9")],
                                 unset=[("www", "A")])
        wait_until(lambda: os.path.exists(f"{out}.env"), 15, what="second run")
        summary = json.loads(open(f"{out}.stdin").read())
        assert summary == {"zone": ZONE, "serial": serial, "previous_serial": 1,
                           "primary": "127.0.0.1", "transfer": "IXFR",
                           "added": 1, "changed": 1, "deleted": 1}  # the SOA changed too
        env = dict(line.split("=", 1) for line in open(f"{out}.env").read().split())
        assert env["ZONESYNC_SERIAL"] == str(serial)
        assert env["ZONESYNC_PREVIOUS_SERIAL"] == "1"
        assert env["ZONESYNC_ADDED"] == "1" and env["ZONESYNC_DELETED"] == "1"
        lab.zs.wait_log(rf"target updated: zone=example\.com\. target=hook serial={serial} "
                        r"command exit=0 .*output=\"ran\\n\"", timeout=5)


def test_failing_hanging_and_chatty_hooks_hold_up_nothing(tmp_path):
    hooks = {
        "fails": "#!/bin/sh\necho 'something broke' >&2\nexit 3\n",
        # Its output, quoted and escaped, stays one logfmt value.
        "quotes": "#!/bin/sh\necho 'say \"hi\" a=b \\\\'\n",
        "hangs": "#!/bin/sh\nsleep 1357 &\nsleep 1357\n",
        "chatty": "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' x\necho\necho END\n",
    }
    with Lab(tmp_path, hooks, timeout=3) as lab:
        zs = lab.zs
        # The zone file target is written at once, whatever the hooks do.
        wait_until(lambda: os.path.exists(zs.zonefile(ZONE)), 10, what="zone file")
        zs.wait_log(r"target failed: zone=example\.com\. target=fails serial=1 .*"
                    r"error=.*fails\.sh: exit status 3 .*output=\\\"something broke\\\\n\\\"",
                    timeout=10)
        zs.wait_log(r"target updated: zone=example\.com\. target=quotes serial=1 command "
                    r"exit=0 .*output=\"say \\\"hi\\\" a=b \\\\\\n\"$", timeout=10)
        zs.wait_log(r"target updated: zone=example\.com\. target=chatty serial=1 command "
                    r"exit=0 .*output_bytes=300000[0-9] output=\".*x\\nEND\\n\"", timeout=20)
        zs.wait_log(r"target failed: zone=example\.com\. target=hangs serial=1 .*"
                    r"error=.*killed after its timeout of 3s", timeout=15)
        # A change goes to the zone file while the hanging hook is running
        # again (failed hooks are retried) or waiting: nothing waits for it.
        t0 = time.monotonic()
        serial = lab.knot.change(ZONE, set=[("late", 300, "A", "192.0.2.77")])
        wait_until(lambda: f"late.example.com." in open(zs.zonefile(ZONE)).read(), 2.5,
                   what="zone file updated while the hook hangs")
        assert time.monotonic() - t0 < 2.5
        # The hanging hook's child was killed with it (its process group):
        # no 'sleep 1357' outlives it.
        wait_until(lambda: "sleep 1357" not in os.popen("ps -eo args").read(), 3,
                   what="the hook's background child killed")
        assert serial


def test_reload_with_a_changed_hook_runs_it(tmp_path):
    """A reload that changes a target's configuration (here the hook's
    arguments) pushes to it again at the serial it holds: the new
    configuration takes effect without waiting for the next change.  A
    target whose configuration stayed is left alone."""
    import signal
    out = tmp_path / "rec"
    with Lab(tmp_path, {"hook": RECORDER.format(out=out)}) as lab:
        wait_until(lambda: os.path.exists(f"{out}.env"), 15, what="first run")
        assert open(f"{out}.args").read().split()[0] == "--flag"
        os.unlink(f"{out}.env")
        mark = lab.zs.mark()
        conf = open(lab.zs.conf).read()
        open(lab.zs.conf, "w").write(conf.replace("--flag", "--other"))
        os.kill(lab.zs.proc.proc.pid, signal.SIGHUP)
        lab.zs.wait_log(r"target's configuration changed: zone=example\.com\. target=hook",
                        since=mark)
        wait_until(lambda: os.path.exists(f"{out}.env"), 15, what="the hook run again")
        assert open(f"{out}.args").read().split() == ["--other", "example.com", "1", "127.0.0.1"]
        # The zone file target did not change: not written again.
        assert not lab.zs.find(r"target updated: zone=example\.com\. target=file", since=mark)
        assert not lab.zs.find(r"target's configuration changed: .*target=file", since=mark)


# --- what the command sees: its environment, its input, its arguments ------------------------

# Records what it was given: its arguments, its input, and the environment it
# was started with (/proc/$$/environ: before the shell adds anything).  Each
# run in a directory of its own; it prints the secrets, had it been given any.
WITNESS = """#!/bin/sh
d=$(mktemp -d "{out}/run.XXXXXX")
printf '%s\\n' "$@" > "$d/args"
tr '\\0' '\\n' < /proc/$$/environ > "$d/env"
cat > "$d/stdin"
echo "aws=$AWS_SECRET_ACCESS_KEY pdns=$PDNS_API_KEY"
"""


def witness_runs(out):
    """Each run of WITNESS: (args, environment as a dict, stdin text)."""
    runs = []
    for d in sorted(out.glob("run.*")):
        args = (d / "args").read_text().splitlines()
        env = dict(line.split("=", 1) for line in (d / "env").read_text().splitlines())
        runs.append((args, env, (d / "stdin").read_text()))
    return runs


def witness(lab, tmp_path, zones, environ, **target):
    """`zonesync sync` of zones (master file texts) from a knotd, each to an
    exec target running WITNESS with --flag; its runs."""
    out = tmp_path / "witness"
    out.mkdir()
    hook = tmp_path / "witness.sh"
    hook.write_text(WITNESS.format(out=out))
    hook.chmod(0o755)
    knot = lab.knot(zones)
    zs = lab.zonesync_cli(knot, [{"id": "hook", "type": "exec", "command": [str(hook), "--flag"],
                                  **target}],
                          [{"domain": z, "target": ["hook"]} for z in zones], env=environ)
    r = zs.sync()
    assert r.returncode == 0, zs.log()
    return zs, witness_runs(out)


def test_exec_environment_is_clean_but_for_the_allow_list(lab, tmp_path):
    """The command gets PATH, LANG, TZ, the variables named in env: and
    ours, nothing else of zonesync's environment: not its AWS credentials
    nor the variable holding a PowerDNS key, which it would otherwise print
    into zonesync's log.  A ZONESYNC_ variable of ours cannot be forged
    from outside."""
    env = dict(os.environ, LANG="C.UTF-8", TZ="Europe/Paris", HOME="/root",
               AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMIsecret",
               PDNS_API_KEY="pdns-secret-key", HOOK_TOKEN="allowed-value",
               ZONESYNC_SERIAL="4242")
    env.pop("NOT_SET_ANYWHERE", None)
    zs, runs = witness(lab, tmp_path, {ZONE: ZONE_TEXT}, env,
                       env=["HOOK_TOKEN", "NOT_SET_ANYWHERE"])
    [(args, seen, _)] = runs
    ours = {k for k in seen if k.startswith("ZONESYNC_")}
    assert set(seen) - ours == {"PATH", "LANG", "TZ", "HOOK_TOKEN"}, seen
    assert seen["PATH"] == env["PATH"] and seen["LANG"] == "C.UTF-8"
    assert seen["TZ"] == "Europe/Paris" and seen["HOOK_TOKEN"] == "allowed-value"
    assert seen["ZONESYNC_SERIAL"] == "1" and seen["ZONESYNC_ZONE"] == ZONE
    assert ours == {"ZONESYNC_ZONE", "ZONESYNC_SERIAL", "ZONESYNC_PRIMARY",
                    "ZONESYNC_TRANSFER"}, seen
    log = zs.log()
    assert "wJalrXUtnFEMIsecret" not in log and "pdns-secret-key" not in log
    assert "aws= pdns=" in log


# A zone whose name is 57 spaces four times (\032 in presentation format,
# 4 bytes each; knotd takes no longer name): its JSON summary is over 1 KiB,
# however written; owners hold odd bytes too.
ODD = ".".join(["\\032" * 57] * 4) + ".example."
ODD_TEXT = f"""$ORIGIN {ODD}
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
a\\032b A 192.0.2.2
\\255\\000\\001 TXT "odd bytes"
"""
DASH = "-dash.example."


def test_exec_names_are_presentation_format_valid_json_and_never_options(lab, tmp_path):
    """Every name the command is given is in presentation format (ASCII,
    \\DDD escapes), in valid JSON however long, and an argument is never
    taken for an option: a zone whose name begins with '-' is given as
    \\045, the same name to every DNS tool."""
    zones = {ODD: ODD_TEXT, DASH: ZONE_TEXT.replace(ZONE, DASH)}
    _, runs = witness(lab, tmp_path, zones, None)
    by_zone = {env["ZONESYNC_ZONE"]: (args, env, stdin) for args, env, stdin in runs}
    assert set(by_zone) == set(zones)

    args, env, stdin = by_zone[ODD]
    assert len(stdin.encode()) > 1024 and stdin.endswith("}\n") and stdin.isascii()
    summary = json.loads(stdin)
    assert summary["zone"] == ODD and summary["serial"] == 7
    assert dns.name.from_text(summary["zone"]).labels[0] == b" " * 57
    assert args == ["--flag", ODD[:-1], "7", "127.0.0.1"]

    args, env, stdin = by_zone[DASH]
    assert json.loads(stdin)["zone"] == DASH
    assert args == ["--flag", "\\045dash.example", "1", "127.0.0.1"]
    assert dns.name.from_text(args[1]) == dns.name.from_text(DASH)
    # The operands, for getopt as for a shell's: none is an option.
    assert not any(a.startswith("-") for a in args[1:])
