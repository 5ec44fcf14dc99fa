"""Every configuration key the loader accepts is documented in
docs/zonesync.yaml.5, in its own section, as a `.B key` or `.BR key` line.

The keys come from the C source: the conf_item_t tables of the target types
(in each provider's folder, with the shared TARGET_ITEM_* of target.h) and the key lists of
each section in src/conf/conf.c.  A key added there without its paragraph in
the man page fails here."""
import glob
import os
import re

from conftest import ROOT

MAN = os.path.join(ROOT, "docs", "zonesync.yaml.5")
CONF_C = os.path.join(ROOT, "src", "conf", "conf.c")
# conf.c's loader of each section, and that section's heading in the page.
SECTIONS = {
    "load_server": "SERVER SECTION",
    "load_keys": "KEY SECTION",
    "load_primaries": "PRIMARY SECTION",
    "load_targets": "TARGET SECTION",
    "load_zones": "ZONE SECTION",
}


def strings(body):
    return re.findall(r'"([^"]*)"', body)


def target_keys():
    """{target type: [key, ...]} from the conf_item_t tables of each provider's
    folder; keys shared by several types are TARGET_ITEM_* macros of
    src/target/target.h, resolved here."""
    shared = dict(re.findall(r'#define\s+(TARGET_ITEM_\w+)[\s\\{]*"([a-z0-9-]+)"',
                             open(os.path.join(ROOT, "src", "target", "target.h")).read()))
    out = {}
    for path in glob.glob(os.path.join(ROOT, "src", "**", "*.c"), recursive=True):
        src = open(path).read()
        tables = {}
        for name, body in re.findall(r"conf_item_t\s+(\w+)\[\]\s*=\s*\{(.*?)\n\};", src, re.S):
            keys = []
            for m in re.finditer(r'\{\s*"([a-z0-9-]+)",\s*CONF_|\b(TARGET_ITEM_\w+)', body):
                key = m.group(1) or shared.get(m.group(2))
                if key:
                    keys.append(key)
            tables[name] = keys
        for tname, table in re.findall(
                r'target_type_t\s+\w+\s*=\s*\{\s*\{\s*"([a-z0-9]+)",\s*(\w+)', src):
            assert table in tables, f"{path}: {tname} uses {table}, not found"
            out[tname] = tables[table]
    return out


def section_keys():
    """{loader function: [key, ...]} from the `*keys[]` lists of conf.c."""
    out = {}
    func = None
    src = open(CONF_C).read()
    for m in re.finditer(r"(?m)^static\s+\w+\s+(\w+)\(|"
                         r"static const char \*const \w*keys\[\]\s*=\s*\{(.*?)\};", src, re.S):
        if m.group(1):
            func = m.group(1)
        else:
            out.setdefault(func, []).extend(strings(m.group(2)))
    return out


def man_parts():
    """{heading: text} for every .SH and .SS of the page."""
    parts, head = {}, None
    for line in open(MAN).read().splitlines():
        m = re.match(r'\.S[HS]\s+"?([^"]*)"?\s*$', line)
        if m:
            head = m.group(1)
            parts[head] = ""
        elif head is not None:
            parts[head] += line + "\n"
    return parts


def documented(text, key):
    name = "".join("(?:-|\\\\-)" if c == "-" else re.escape(c) for c in key)
    return re.search(rf"(?m)^\.BR?\s+{name}(?:\s|$)", text) is not None


def test_tables_found():
    tk = target_keys()
    assert {"route53", "powerdns", "rfc2136", "zonefile", "exec"} <= set(tk)
    assert all(tk.values())
    sk = section_keys()
    assert set(SECTIONS) <= set(sk), sorted(sk)


def test_target_keys_documented():
    parts = man_parts()
    missing = []
    for tname, keys in sorted(target_keys().items()):
        assert tname in parts, f"no .SS {tname} in {MAN}"
        missing += [f"{tname}.{k}" for k in keys if not documented(parts[tname], k)]
    assert not missing, f"keys not documented under their .SS: {missing}"


def test_section_keys_documented():
    parts = man_parts()
    page = open(MAN).read()
    missing = []
    for func, keys in sorted(section_keys().items()):
        # A section this test does not know yet: anywhere in the page will do.
        text = parts.get(SECTIONS.get(func), page)
        missing += [f"{func}: {k}" for k in keys if not documented(text, k)]
    assert not missing, f"keys not documented in their section: {missing}"
