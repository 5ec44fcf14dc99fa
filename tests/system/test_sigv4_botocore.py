"""Our SigV4 against botocore's for the requests the route53 target makes
(paged listings with Route 53's escaped names, change batches), and random
ones: the same canonical request, string to sign and signature."""
import os
import random
import subprocess

import pytest

botocore = pytest.importorskip("botocore")  # python3-botocore (scripts/install-deps)
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

DATE = "20261127T061958Z"


def tool():
    zs = os.environ.get("ZONESYNC_BIN")
    path = os.path.join(os.path.dirname(zs), "tests", "sigv4_tool") if zs else None
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"sigv4_tool not built next to {zs}")
    return path


def botocore_auth(method, host, path, query, headers, body, token=None, region="us-east-1",
                  service="route53"):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    url = f"https://{host}{path}"
    req = AWSRequest(method=method, url=url, params=query, data=body,
                     headers={**headers, "X-Amz-Date": DATE})
    auth = SigV4Auth(creds, service, region)
    # Sign at a fixed time: botocore's own add_auth() reads the clock.
    req.context["timestamp"] = DATE
    if token:
        req.headers["X-Amz-Security-Token"] = token
    req.headers["host"] = host
    cr = auth.canonical_request(req)
    sts = auth.string_to_sign(req, cr)
    sig = auth.signature(sts, req)
    signed = auth.signed_headers(auth.headers_to_sign(req))
    return (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{DATE[:8]}/{region}/{service}/"
            f"aws4_request, SignedHeaders={signed}, Signature={sig}")


def ours(method, host, path, query, headers, body, token=None, region="us-east-1",
         service="route53"):
    args = [tool(), method, host, path, DATE, region, service, "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token or "-", body]
    for k, v in query:
        args += ["q", k, v]
    for k, v in headers.items():
        args += ["h", k, v]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


CASES = [
    ("GET", "/2013-04-01/hostedzone/Z0123/rrset",
     [("name", "\\052.example.com."), ("type", "A"), ("maxitems", "300")], {}, "", None),
    ("GET", "/2013-04-01/hostedzonesbyname", [("dnsname", "example.com."), ("maxitems", "1")],
     {}, "", None),
    ("POST", "/2013-04-01/hostedzone/Z0123/rrset/", [],
     {"Content-Type": "application/xml"},
     '<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
     'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>'
     '<Change><Action>UPSERT</Action></Change></Changes></ChangeBatch>'
     '</ChangeResourceRecordSetsRequest>', None),
    ("GET", "/2013-04-01/change/C2682N5HXP0BZ4", [], {}, "", "FQoGZXIvYXdzEXAMPLETOKEN/+="),
]


@pytest.mark.parametrize("case", CASES, ids=["list-rrsets", "zones-by-name", "change", "token"])
def test_route53_requests(case):
    method, path, query, headers, body, token = case
    host = "route53.amazonaws.com"
    assert ours(method, host, path, query, headers, body, token) == \
        botocore_auth(method, host, path, query, headers, body, token)


def test_random_requests():
    rnd = random.Random(1127)
    alphabet = "abcXYZ019-_.~ *\\/%+=&?é"
    for _ in range(40):
        query = [("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6))),
                  "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8))))
                 for _ in range(rnd.randint(0, 4))]
        headers = {"X-Extra-" + str(i): "  v  " + str(rnd.randint(0, 99)) + "   w "
                   for i in range(rnd.randint(0, 2))}
        body = "".join(rnd.choice("ab<>/") for _ in range(rnd.randint(0, 40)))
        path = "/2013-04-01/" + "".join(rnd.choice("abcZ019-_.~") for _ in range(8))
        method = rnd.choice(["GET", "POST"])
        assert ours(method, "example.amazonaws.com", path, query, headers, body) == \
            botocore_auth(method, "example.amazonaws.com", path, query, headers, body), \
            (method, path, query, headers, body)


# STS, as the credential chain calls it (form POSTs to /, the Content-Type
# signed), in a region of its own and with the session token of the
# credentials that assume the next role (a chain of roles).
FORM = "application/x-www-form-urlencoded; charset=utf-8"
STS_CASES = {
    "assume-role": "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                   "123456789012%3Arole%2Fzonesync&RoleSessionName=zonesync-1764892800",
    "assume-role-external-id": "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam"
                               "%3A%3A123456789012%3Arole%2Fr2&RoleSessionName=s&ExternalId="
                               "ext%2Bid%3D1&DurationSeconds=900",
    "get-caller-identity": "Action=GetCallerIdentity&Version=2011-06-15",
}


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzEXAMPLESTSTOKEN/+=="],
                         ids=["static", "token"])
@pytest.mark.parametrize("name", sorted(STS_CASES))
def test_sts_requests(name, token):
    """STS signed for service sts in eu-west-1 at sts.eu-west-1.amazonaws.com,
    with and without a session token: ours equals botocore's.  Fails if the
    service or region is not taken from the arguments, or a form body or
    its signed Content-Type is canonicalised differently."""
    body = STS_CASES[name]
    host = "sts.eu-west-1.amazonaws.com"
    headers = {"Content-Type": FORM}
    got = ours("POST", host, "/", [], headers, body, token, "eu-west-1", "sts")
    want = botocore_auth("POST", host, "/", [], headers, body, token, "eu-west-1", "sts")
    assert got == want
    assert "/eu-west-1/sts/aws4_request" in got and "content-type" in got
