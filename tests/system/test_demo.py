"""scripts/demo, the README's first command, run against the binary under
test (ZONESYNC_BIN, so that it also runs the ASan build; the demo then skips
its build step).

The demo starts knotd, moto_server (Route 53), pdns_server and zonesync in a
temporary directory, waits for the first sync, changes www.example.com's A
record on the primary and shows it arriving at both providers.  Its output is
parsed here: the AWS CLI listing and the dig answer after the change must both
hold the new address, and `zonesync status` must say ok for both targets.  It
must take under a minute, and leave no process and no temporary directory
behind, also when interrupted (Ctrl-C: SIGINT to its process group).

The demo's temporary directory is made under TMPDIR (pytest's tmp_path here),
and it prints the pid of every process it starts."""
import os
import re
import signal
import subprocess
import time

from conftest import ROOT

DEMO = os.path.join(ROOT, "scripts", "demo")
OLD_ADDR = "192.0.2.80"
NEW_ADDR = "192.0.2.81"
NEW_SERIAL = "2026112702"
LIMIT = 60  # seconds, the demo's promise


def demo_env(tmp_path):
    binary = os.environ.get("ZONESYNC_BIN", os.path.join(ROOT, "build", "zonesync"))
    return dict(os.environ, ZONESYNC_BIN=os.path.abspath(binary), TMPDIR=str(tmp_path))


def default_sigint():
    # A shell cannot trap a signal ignored when it started (as under a
    # background job): give the demo the SIGINT a terminal's Ctrl-C would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def blocks(out):
    """{command line: [output lines]} for each "$ command" the demo printed, in
    order (a command printed twice keeps its last output)."""
    res = {}
    cur = None
    for line in out.splitlines():
        if line.startswith("$ "):
            cur = line[2:]
            res[cur] = []
        elif line.startswith("== ") or line.startswith("\033[1m"):
            cur = None
        elif cur is not None:
            res[cur].append(line)
    return res


def block(out, *words):
    """The output of the last command printed that holds every word."""
    found = [(cmd, lines) for cmd, lines in blocks(out).items() if all(w in cmd for w in words)]
    assert found, f"no command with {words} in the demo's output:\n{out}"
    return found[-1]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def assert_nothing_left(out, tmp_path):
    """Every pid the demo printed is gone, no process has the demo's temporary
    directory in its command line, and the directory is gone."""
    pids = {int(p) for p in re.findall(r"\(pid (\d+)\)", out)}
    m = re.search(r"^\$ kill ([\d ]+)$", out, re.M)
    if m:
        pids |= {int(p) for p in m.group(1).split()}
    left = sorted(p for p in pids if alive(p))
    dirs = [d for d in os.listdir(tmp_path) if d.startswith("zonesync-demo.")]
    r = subprocess.run(["pgrep", "-af", f"{tmp_path}/zonesync-demo."], capture_output=True,
                       text=True, timeout=10)
    assert not left, f"processes the demo started still run: {left}\n{out}"
    assert r.stdout.strip() == "", f"processes of the demo still run:\n{r.stdout}"
    assert not dirs, f"the demo left its temporary directory: {dirs}"
    return pids


def test_demo_live(tmp_path):
    start = time.monotonic()
    r = subprocess.run([DEMO], capture_output=True, text=True, timeout=180,
                       env=demo_env(tmp_path), cwd=tmp_path, preexec_fn=default_sigint)
    took = time.monotonic() - start
    out = r.stdout
    both = f"stdout:\n{out}\nstderr:\n{r.stderr}"
    assert r.returncode == 0, f"scripts/demo exited {r.returncode}\n{both}"
    assert took < LIMIT, f"scripts/demo took {took:.1f} s\n{both}"
    m = re.search(r"^== Done in ([\d.]+) s\.$", out, re.M)
    assert m and float(m.group(1)) < LIMIT, both

    # Route 53, after the change: the AWS CLI's listing of www.example.com. A.
    cmd, lines = block(out, "aws route53 list-resource-record-sets", "www.example.com.")
    rows = [line.split("\t") for line in lines if "\t" in line]
    assert rows == [["www.example.com.", "A", "300", NEW_ADDR]], f"{cmd}\n{lines}\n{both}"

    # PowerDNS, after the change: dig's answer.
    cmd, lines = block(out, "dig", "+short", "www.example.com.")
    addrs = [line for line in lines if re.fullmatch(r"[0-9.]+", line)]
    assert addrs == [NEW_ADDR], f"{cmd}\n{lines}\n{both}"

    # Before the change both held the old address (the first sync).
    cmd, lines = block(out, "aws route53 list-resource-record-sets", "Type!='SOA'")
    assert any(line.split("\t")[:2] == ["www.example.com.", "A"] and OLD_ADDR in line
               for line in lines), f"{cmd}\n{lines}\n{both}"
    cmd, lines = block(out, "dig", "AXFR")
    assert any(line.split()[:1] == ["www.example.com."] and line.split()[-1] == OLD_ADDR
               for line in lines), f"{cmd}\n{lines}\n{both}"

    # zonesync status: every target ok at the new serial.
    cmd, lines = block(out, "status -c")
    state = {}
    for line in lines:
        f = re.search(r"\b(route53|pdns)\s+(route53|powerdns)\s+(\S+)\s+(\d+)\s+(\S+)", line)
        if f:
            state[f.group(1)] = (f.group(3), f.group(4), f.group(5))
    assert state == {"route53": (NEW_SERIAL, "0", "ok"), "pdns": (NEW_SERIAL, "0", "ok")}, \
        f"{cmd}\n" + "\n".join(lines)

    # The change went as an IXFR and one write to each provider: Route 53's
    # batch carries its own fence; PowerDNS's serial is read just before
    # (the fence against a second host, zonesync(8) TWO HOSTS).
    cmd, lines = block(out, "grep", "zonesync.log")
    for target, requests in (("route53", 1), ("pdns", 2)):
        assert any(f"target synced: zone=example.com. target={target} serial={NEW_SERIAL} "
                   "mode=incremental" in line and f" requests={requests} " in line
                   and " writes=1 " in line
                   for line in lines), f"{target}: {cmd}\n" + "\n".join(lines)
    # The metrics endpoint says the same.
    cmd, lines = block(out, "curl", "/metrics")
    for target in ("route53", "pdns"):
        assert f'zonesync_target_serial{{zone="example.com.",target="{target}"}} {NEW_SERIAL}' \
            in lines, f"{cmd}\n" + "\n".join(lines)
    assert "zonesync exited with status 0." in out, both
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert marker not in out + r.stderr, both

    pids = assert_nothing_left(out, tmp_path)
    assert len(pids) == 4, f"expected the pids of knotd, moto_server, pdns_server and " \
        f"zonesync: {sorted(pids)}\n{both}"


def test_demo_interrupted(tmp_path):
    """Ctrl-C while zonesync runs: everything the demo started is stopped, its
    temporary directory removed, and it exits 130."""
    p = subprocess.Popen([DEMO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=demo_env(tmp_path), cwd=tmp_path, start_new_session=True,
                         preexec_fn=default_sigint)
    out = ""
    try:
        deadline = time.monotonic() + 120
        for line in p.stdout:
            out += line
            if "zonesync is running (pid" in line or time.monotonic() > deadline:
                break
        assert "zonesync is running (pid" in out, out
        time.sleep(0.5)  # in the middle of the first sync
        os.killpg(p.pid, signal.SIGINT)
        out += p.stdout.read()
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()
    assert rc == 130, f"exit status {rc}\n{out}"
    assert "demo: interrupted" in out, out
    pids = assert_nothing_left(out, tmp_path)
    assert len(pids) == 4, f"{sorted(pids)}\n{out}"
