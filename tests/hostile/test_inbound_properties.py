"""Property tests for what inbound webhooks do with bytes a stranger chose.

Every verification scheme sees arbitrary headers (any casing, text or latin-1 values),
bodies and secrets, and must raise VerificationFailed (any other exception would be a 500
on /hooks/in/<token>, and accepting would let a stranger in); only `none` accepts.
Reading the body (`payload.parse`) never raises at all.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from webhooks.inbound import payload
from webhooks.inbound.schemes import SCHEMES, VerificationFailed

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)

# The headers the schemes read, so generated dicts often hold the one a scheme wants.
KNOWN_HEADERS = [
    "X-Webhook-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Hub-Signature-256",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "Stripe-Signature",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Topic",
    "X-Shopify-Webhook-Id",
]


@st.composite
def odd_casing(draw, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, flips, strict=True))


# What WSGI hands over is latin-1 decoded bytes; API callers may also send any text.
latin1_values = st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))


def prefixed(prefix: str, rest: st.SearchStrategy) -> st.SearchStrategy:
    return rest.map(lambda text: prefix + text)


signature_like = st.one_of(
    prefixed("sha256=", st.text("0123456789abcdef", max_size=70)),
    prefixed("v1,", st.text("ABCDEFabcdef0123456789+/=", max_size=50)),
    st.builds(
        lambda t, v: f"t={t},v1={v}",
        st.one_of(st.integers(), st.text(max_size=12)),
        st.text(max_size=70),
    ),
    st.integers().map(str),
    st.just("1" + "0" * 400),  # a number too large for a float
)
header_values = st.one_of(st.text(max_size=200), latin1_values, signature_like)
header_names = st.one_of(st.sampled_from(KNOWN_HEADERS).flatmap(odd_casing), st.text(max_size=30))
headers = st.dictionaries(header_names, header_values, max_size=8)
secrets = st.one_of(
    st.text(max_size=80),
    prefixed("whsec_", st.text(max_size=60)),
    prefixed("v1,", st.text(max_size=40)),
)
bodies = st.binary(max_size=2048)


@pytest.mark.parametrize("scheme_name", sorted(SCHEMES))
@EXAMPLES
@given(
    headers=headers,
    body=bodies,
    secret=secrets,
    signature_header=st.one_of(st.sampled_from(KNOWN_HEADERS), st.text(max_size=30)),
)
@example(  # a timestamp too large for a float
    headers={"webhook-id": "m", "webhook-timestamp": "1" + "0" * 400, "webhook-signature": "v1,"},
    body=b"",
    secret="whsec_",
    signature_header="x",
)
@example(
    headers={"stripe-signature": "t=1" + "0" * 400 + ",v1=00"},
    body=b"",
    secret="s",
    signature_header="x",
)
@example(  # digits Python's int() reads, but no sender writes
    headers={"webhook-id": "m", "webhook-timestamp": "٣٤", "webhook-signature": "v1,"},
    body=b"",
    secret="whsec_",
    signature_header="x",
)
def test_every_scheme_but_none_refuses_random_headers_with_a_reason(
    scheme_name, headers, body, secret, signature_header
):
    scheme = SCHEMES[scheme_name]
    # receiving.receive lowercases names first; the raw casing must not crash either.
    for given_headers in (headers, {name.lower(): value for name, value in headers.items()}):
        if scheme_name == "none":
            scheme.verify(body, given_headers, secret, signature_header=signature_header)
        else:
            # Random headers carry no valid signature of this body under this secret: every
            # scheme that checks one must say no (and say why).
            with pytest.raises(VerificationFailed) as refused:
                scheme.verify(body, given_headers, secret, signature_header=signature_header)
            assert str(refused.value)  # a reason the customer can act on
        parsed = payload.parse(body, "application/json")
        assert isinstance(scheme.event_type(given_headers, parsed), str)
        assert isinstance(scheme.dedup_key(given_headers, parsed, body), str)


content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8",
            "text/plain",
            "",
        ]
    ),
    st.text(max_size=60),
)
form_bodies = st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=6).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
)
json_text = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@EXAMPLES
@given(
    body=st.one_of(
        bodies,
        form_bodies,
        bodies.map(lambda raw: b"payload=" + raw),
        json_text.map(lambda value: repr(value).encode()),
    ),
    content_type=content_types,
)
@example(body=b"[" * 100_000, content_type="application/json")
@example(body=b"payload=" + b"[" * 100_000, content_type="application/x-www-form-urlencoded")
@example(body=b"1" * 5000, content_type="application/json")
@example(body=b"\xff\xfe{}", content_type="application/json")
@example(body=b"%ff%fe=%00", content_type="application/x-www-form-urlencoded")
def test_parsing_a_body_never_raises(body, content_type):
    parsed = payload.parse(body, content_type)
    assert parsed is None or isinstance(parsed, dict | list | str | int | float | bool)
