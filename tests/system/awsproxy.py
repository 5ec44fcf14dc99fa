"""A recording HTTP reverse proxy in front of moto_server, for the tests of
zonesync's AWS credential chain (test_aws_credentials.py).

Why it exists: moto does not check SigV4 signatures (any key signs anything),
and its access log shows only the request line.  So neither moto nor its log
can tell WHICH credentials signed a request, and that is what a credential
chain test has to prove: that the Route 53 calls were signed with the key
that a given source (environment, profile, AssumeRole, web identity,
credential_process, ECS, IMDS) handed out.  The proxy sits between zonesync
and moto on loopback, forwards every request and answer unchanged (but for
hop-by-hop headers and the framing: bodies are read whole and sent with a
Content-Length), and records per request:

  - method, path (with the query), the time it arrived and was answered,
    the answer's status;
  - from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
    SERVICE/aws4_request, ...`: the access key id, region and service (None
    when unsigned), the raw Authorization (the ECS token), every request
    header (lowercased names) and whether X-Amz-Security-Token was sent;
  - for form POSTs (STS): the form's fields (Action=AssumeRole, RoleArn, ...);
  - what an answer issued: the AccessKeyId, SecretAccessKey, SessionToken /
    Token and Expiration of an STS answer (AssumeRole,
    AssumeRoleWithWebIdentity: XML) or of an IMDS / ECS credential document
    (JSON with AccessKeyId), and the Account / Arn of GetCallerIdentity.

Secrets are recorded too (the tests grep zonesync's output for them); the
proxy never prints them.
"""
import http.client
import http.server
import json
import re
import threading
import time
import urllib.parse

from servers import LOOPBACK, free_port

_AUTH_RE = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)/(\d{8})/([^/\s,]+)/([^/\s,]+)"
                      r"/aws4_request")
_HOP = frozenset(["connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                  "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding",
                  "upgrade"])
_XML_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Account", "Arn")


def _xml_field(text, name):
    m = re.search(rf"<{name}>([^<]*)</{name}>", text)
    return m.group(1) if m else None


class Request(dict):
    """One recorded request (a dict, attribute access for reading)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _issued(path, body_text, form):
    """What an answer handed out: {"kind", "akid", "secret", "token",
    "expiration", "account", "arn"} or None."""
    action = form.get("Action") if form else None
    if action in ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"):
        f = {k: _xml_field(body_text, k) for k in _XML_FIELDS}
        return {"kind": action, "akid": f["AccessKeyId"], "secret": f["SecretAccessKey"],
                "token": f["SessionToken"], "expiration": f["Expiration"],
                "account": f["Account"], "arn": f["Arn"]}
    s = body_text.lstrip()
    if s.startswith("{") and "AccessKeyId" in s:
        try:
            doc = json.loads(s)
        except ValueError:
            return None
        if isinstance(doc, dict) and "AccessKeyId" in doc:
            return {"kind": "imds" if path.startswith("/latest/") else "document",
                    "akid": doc.get("AccessKeyId"), "secret": doc.get("SecretAccessKey"),
                    "token": doc.get("Token") or doc.get("SessionToken"),
                    "expiration": doc.get("Expiration"), "account": doc.get("AccountId"),
                    "arn": doc.get("RoleArn")}
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl likes it

    def log_message(self, fmt, *args):  # quiet: the records are the log
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _any(self):
        proxy = self.server.proxy
        t0 = time.time()
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = headers.get("authorization", "")
        m = _AUTH_RE.search(auth)
        form = None
        ctype = headers.get("content-type", "")
        if self.command == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                               keep_blank_values=True))
        rec = Request(t=t0, method=self.command, path=self.path, headers=headers,
                      authorization=auth or None,
                      akid=m.group(1) if m else None, date=m.group(2) if m else None,
                      region=m.group(3) if m else None, service=m.group(4) if m else None,
                      token="x-amz-security-token" in headers, form=form, body=body,
                      status=None, issued=None, t_end=None)
        status, reason, rheaders, rbody = 502, "Bad Gateway", [], b""
        try:
            conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                              timeout=120)
            try:
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        conn.putheader(k, v)
                if body or self.command in ("POST", "PUT"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                status, reason = resp.status, resp.reason
                rheaders = [(k, v) for k, v in resp.getheaders()
                            if k.lower() not in _HOP and k.lower() != "content-length"]
                rbody = resp.read()
            finally:
                conn.close()
        except OSError as e:
            rbody = f"awsproxy: upstream failed: {e}".encode()
        rec["status"] = status
        try:
            rec["issued"] = _issued(self.path, rbody.decode("utf-8", "replace"), form)
        except Exception:  # never let a record break the answer
            rec["issued"] = None
        rec["response"] = rbody
        self.send_response_only(status, reason)
        for k, v in rheaders:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(rbody)
        self.wfile.flush()
        rec["t_end"] = time.time()
        proxy._record(rec)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class AwsProxy:
    """The proxy on LOOPBACK:port (free) in front of http://host:port of
    moto_server.  url: what to give zonesync (AWS_ENDPOINT_URL_STS, the
    target's endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT, ...)."""

    def __init__(self, upstream_port, upstream_host=LOOPBACK, port=None):
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._lock = threading.Lock()
        self._records = []
        self._server = None
        self._thread = None

    def start(self):
        self._server = _Server((LOOPBACK, self.port), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, rec):
        with self._lock:
            self._records.append(rec)

    # -- reading the records --

    def mark(self):
        with self._lock:
            return len(self._records)

    def requests(self, since=0):
        """Every recorded request after the mark, in the order answered."""
        with self._lock:
            return list(self._records[since:])

    def route53(self, since=0):
        """The Route 53 API requests (paths under /2013-04-01/)."""
        return [r for r in self.requests(since) if r.path.startswith("/2013-04-01/")]

    def sts(self, action=None, since=0):
        """STS form POSTs (Action=...), of that action if given."""
        return [r for r in self.requests(since)
                if r.form is not None and "Action" in r.form and
                (action is None or r.form["Action"] == action)]

    def metadata(self, since=0):
        """Requests under /latest/ (moto's instance metadata: IMDS, and the
        document the ECS tests point at)."""
        return [r for r in self.requests(since) if r.path.startswith("/latest/")]

    def issued(self, since=0):
        """Every credential an answer handed out: [(request, issued)]."""
        return [(r, r.issued) for r in self.requests(since)
                if r.issued is not None and r.issued.get("akid")]

    def secrets(self, since=0):
        """Every secret key and session token an answer handed out."""
        out = set()
        for _, i in self.issued(since):
            for k in ("secret", "token"):
                if i.get(k):
                    out.add(i[k])
        return out

    def summary(self, since=0, limit=200):
        """One line per request (no secrets: key ids only), for assertion
        messages and the test log."""
        lines = []
        for r in self.requests(since)[-limit:]:
            what = r.form.get("Action") if r.form else ""
            iss = f" issued={r.issued['kind']}:{r.issued.get('akid')}" if r.issued else ""
            signed = (f" signed={r.akid}/{r.region}/{r.service}" if r.akid else
                      " unsigned")
            lines.append(f"{r.t:.3f} {r.method} {r.path[:100]} {what}{signed}"
                         f"{' +token' if r.token else ''} -> {r.status}{iss}")
        return "\n".join(lines)
