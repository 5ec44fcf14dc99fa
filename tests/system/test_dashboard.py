"""docs/grafana-dashboard.json asks only for metrics zonesync serves, and
shows every one of them: a metric renamed in src/obs/metrics.c must be
renamed in the dashboard too."""
import json
import os
import re

from conftest import ROOT

DASHBOARD = os.path.join(ROOT, "docs", "grafana-dashboard.json")
METRICS_C = os.path.join(ROOT, "src", "obs", "metrics.c")
# Not worth a panel: which version runs, and since when.
UNSHOWN = {"zonesync_build_info", "zonesync_start_time_seconds"}


def families():
    """{name: kind} from the FAMILIES table of metrics.c."""
    src = open(METRICS_C).read()
    found = dict(re.findall(r'\{\s*"(zonesync_[a-z0-9_]+)",\s*(COUNTER|GAUGE|HISTOGRAM)\b', src))
    # Every quoted zonesync_ name in the file is a family of the table.
    assert set(re.findall(r'"(zonesync_[a-z0-9_]+)"', src)) == set(found)
    assert len(found) >= 20
    return found


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))  # rows hold their panels when collapsed


def exprs(dash):
    """(panel title, expr) for every query of every panel."""
    for p in panels(dash["panels"]):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", ""), t["expr"]


def family_of(name, fams):
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and fams.get(base) == "HISTOGRAM":
            return base
    return None


def test_dashboard_is_grafana_json():
    dash = json.load(open(DASHBOARD))
    assert dash["title"] == "zonesync" and dash["uid"]
    assert any(i["name"] == "DS_PROMETHEUS" for i in dash["__inputs"])
    var = {v["name"]: v for v in dash["templating"]["list"]}
    assert var["datasource"]["type"] == "datasource" and var["datasource"]["query"] == "prometheus"
    for name in ("zone", "target"):
        assert var[name]["type"] == "query"
        assert var[name]["definition"].startswith("label_values(zonesync_")
    ids = [p["id"] for p in panels(dash["panels"])]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in panels(dash["panels"]):
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}", p["title"]
            assert p["targets"], p["title"]


def test_every_name_is_a_family():
    fams = families()
    dash = json.load(open(DASHBOARD))
    queries = list(exprs(dash)) + [
        (f"variable {v['name']}", v["definition"]) for v in dash["templating"]["list"]
        if v["type"] == "query"]
    assert queries
    for title, expr in queries:
        names = re.findall(r"zonesync_[a-z0-9_]+", expr)
        assert names, f"{title}: {expr}"
        for name in names:
            assert family_of(name, fams), f"{title}: {name} is not in src/obs/metrics.c"


def test_every_family_is_shown():
    fams = families()
    used = {family_of(n, fams) for _, e in exprs(json.load(open(DASHBOARD)))
            for n in re.findall(r"zonesync_[a-z0-9_]+", e)}
    missing = sorted(set(fams) - used - UNSHOWN)
    assert not missing, f"no panel shows {missing}"
