"""The exec target, run by the daemon after each transfer: arguments, the
JSON summary on stdin and the environment, failures, timeouts, big output;
and that no exec target, however it behaves, holds up the others."""
import json
import os
import time


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
        "hangs": "#!/bin/sh\nsleep 1357 &\nsleep 1357\n",
        "chatty": "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' x\necho\necho END\n",
    }
    with Lab(tmp_path, hooks, timeout=3) as lab:
        zs = lab.zs
        # The zone file target is written at once, whatever the hooks do.
        wait_until(lambda: os.path.exists(zs.zonefile(ZONE)), 10, what="zone file")
        zs.wait_log(r"target failed: zone=example\.com\. target=fails serial=1 .*"
                    r"error=.*fails\.sh: exit status 3 .*output=\"something broke\\n\"",
                    timeout=10)
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
