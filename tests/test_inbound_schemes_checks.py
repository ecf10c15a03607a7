"""What each second-wave scheme checks and answers at the door: documented test vectors,
the generic hmac and token schemes' settings, stale timestamps, the answers given at once
(Slack's challenge, WooCommerce's ping) and the duplicate keys."""

import json
import time

import pytest
from django.test import Client

from tests import inbound_signing as sign
from tests.inbound_helpers import as_json, create_inbound_endpoint, fixture, inbound_path
from webhooks.inbound.schemes import SCHEMES, VerificationFailed
from webhooks.models import InboundEndpoint, InboundEvent

RULES = [{"event": "*", "message": "got {{ event_type }}", "channels": ["slack"], "recipient": "o"}]
FORM = "application/x-www-form-urlencoded"
# Slack's worked example: https://api.slack.com/authentication/verifying-requests-from-slack
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = 1531420618
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


@pytest.fixture
def make(api, channels):
    def make(verification: str, secret: str = "s3cret", **fields) -> dict:
        return create_inbound_endpoint(
            api, verification=verification, secret=secret, rules=RULES, **fields
        )

    return make


def post(endpoint: dict, body: bytes, content_type: str = "application/json", **headers):
    return Client().post(inbound_path(endpoint), body, content_type=content_type, **headers)


def refused(response, *words: str) -> str:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    for word in words:
        assert word in error["message"]
    assert InboundEvent.objects.count() == 0
    return error["message"]


# --- Slack ---------------------------------------------------------------------------


def test_slacks_worked_example_verifies_and_is_stale_today(make, settings):
    assert sign.slack(SLACK_SECRET, SLACK_BODY, SLACK_TIMESTAMP)["HTTP_X_SLACK_SIGNATURE"] == (
        SLACK_SIGNATURE
    )
    endpoint = make("slack", secret=SLACK_SECRET)
    headers = {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": str(SLACK_TIMESTAMP),
        "HTTP_X_SLACK_SIGNATURE": SLACK_SIGNATURE,
    }

    refused(post(endpoint, SLACK_BODY, FORM, **headers), "Timestamp check failed", "300 s")

    settings.ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS = 10**10
    assert post(endpoint, SLACK_BODY, FORM, **headers).status_code == 200


def test_slacks_url_verification_is_answered_with_the_challenge_and_not_stored(make):
    endpoint = make("slack")
    body = as_json(
        {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aB", "type": "url_verification"}
    )

    response = post(endpoint, body, **sign.slack("s3cret", body))

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aB"}
    assert InboundEvent.objects.count() == 0
    unsigned = post(endpoint, body)
    refused(unsigned, "X-Slack-Signature")


def test_a_slack_retry_is_a_duplicate_by_its_event_id(make):
    endpoint = make("slack")
    body = fixture("slack_app_mention.json")

    first = post(endpoint, body, **sign.slack("s3cret", body))
    retry = post(endpoint, body, HTTP_X_SLACK_RETRY_NUM="1", **sign.slack("s3cret", body))

    assert first.json()["received"] is True and "id" in first.json()
    assert retry.json() == {"received": True, "duplicate": True}
    assert InboundEvent.objects.get().dedup_key == "Ev123ABC456"


# --- WooCommerce ---------------------------------------------------------------------


def test_woocommerces_creation_ping_is_answered_and_stores_nothing(make, api):
    endpoint = make("woocommerce")

    response = post(endpoint, b"webhook_id=12", FORM)

    assert response.status_code == 200
    assert response.json() == {"received": True, "ping": True}
    assert InboundEvent.objects.count() == 0
    refused(post(endpoint, b"webhook_id=12&total=1", FORM), "X-WC-Webhook-Signature")
    refused(post(endpoint, as_json({"webhook_id": 12})), "X-WC-Webhook-Signature")


def test_two_woocommerce_orders_in_one_second_are_two_events(make):
    endpoint = make("woocommerce")
    # The delivery id is a hash of the webhook id and the second: the same for both.
    for number in ("727", "728"):
        body = as_json({"id": int(number), "number": number, "total": "1.00"})
        response = post(endpoint, body, **sign.woocommerce("s3cret", body, "order.created"))
        assert "id" in response.json(), response.content

    assert InboundEvent.objects.filter(event_type="order.created").count() == 2


def test_a_tampered_woocommerce_order_is_refused(make):
    endpoint = make("woocommerce")
    body = fixture("woocommerce_order_created.json")
    headers = sign.woocommerce("s3cret", body, "order.created")

    refused(post(endpoint, body.replace(b"29.35", b"0.01"), **headers), "mismatch")


# --- GitLab --------------------------------------------------------------------------


def test_gitlab_checks_the_token_and_the_standard_webhooks_signature_when_present(make):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    endpoint = make("gitlab", secret=secret)
    body = fixture("gitlab_push.json")

    refused(post(endpoint, body), "X-Gitlab-Token")
    refused(post(endpoint, body, **sign.gitlab("wrong", body, "Push Hook", "u")), "X-Gitlab-Token")
    forged = {**sign.gitlab(secret, body, "Push Hook", "u", signed=True)}
    refused(post(endpoint, body + b" ", **forged), "mismatch")

    token_only = post(endpoint, body, **sign.gitlab(secret, body, "Push Hook", "u1"))
    signed = post(endpoint, body, **sign.gitlab(secret, body, "Push Hook", "u2", signed=True))

    assert token_only.status_code == signed.status_code == 200
    events = InboundEvent.objects.order_by("dedup_key")
    assert [e.dedup_key for e in events] == ["idem-u1", "idem-u2"]
    assert all("X-Gitlab-Token" not in e.headers for e in events)


def test_gitlab_falls_back_to_the_event_uuid_for_its_duplicate_key(make):
    endpoint = make("gitlab")
    body = fixture("gitlab_push.json")
    headers = sign.gitlab("s3cret", body, "Push Hook", "uuid-7")
    del headers["HTTP_IDEMPOTENCY_KEY"]

    post(endpoint, body, **headers)
    again = post(endpoint, body, **headers)

    assert again.json()["duplicate"] is True
    assert InboundEvent.objects.get().dedup_key == "uuid-7"


# --- PagerDuty, Typeform, Bitbucket, Sentry -----------------------------------------


def test_pagerduty_accepts_any_of_several_signatures(make):
    endpoint = make("pagerduty")
    body = fixture("pagerduty_incident_triggered.json")

    refused(post(endpoint, body, **sign.pagerduty(["old", "older"], body)), "mismatch")
    accepted = post(endpoint, body, **sign.pagerduty(["old", "s3cret"], body))

    assert accepted.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.event_type, event.dedup_key) == (
        "incident.triggered",
        "01DEN3KP6HKDDBFRYM4ZLUNQO1",
    )


@pytest.mark.parametrize(
    ("verification", "fixture_name", "signer", "event_type", "header"),
    [
        (
            "typeform",
            "typeform_form_response.json",
            lambda b: sign.typeform("s3cret", b),
            "form_response",
            "Typeform-Signature",
        ),
        (
            "bitbucket",
            "bitbucket_pullrequest_created.json",
            lambda b: sign.bitbucket("s3cret", b, "pullrequest:created"),
            "pullrequest:created",
            "X-Hub-Signature",
        ),
        (
            "sentry",
            "sentry_issue_created.json",
            lambda b: sign.sentry("s3cret", b, "issue"),
            "issue.created",
            "Sentry-Hook-Signature",
        ),
    ],
)
def test_signed_bodies_verify_and_changed_ones_do_not(
    make, verification, fixture_name, signer, event_type, header
):
    endpoint = make(verification)
    body = fixture(fixture_name)

    refused(post(endpoint, body), header)
    refused(post(endpoint, body.replace(b"e", b"E", 1), **signer(body)), "mismatch")
    assert post(endpoint, body, **signer(body)).status_code == 200

    assert InboundEvent.objects.get().event_type == event_type


def test_typeforms_duplicate_key_is_its_event_id(make):
    endpoint = make("typeform")
    body = fixture("typeform_form_response.json")

    post(endpoint, body, **sign.typeform("s3cret", body))

    assert InboundEvent.objects.get().dedup_key == "01JEF5VX8DE5ZQ1N4Z9M6A3B7C"


# --- the generic hmac scheme ---------------------------------------------------------


@pytest.mark.parametrize(
    ("described", "signing"),
    [
        ({}, {}),
        ({"algorithm": "sha1", "prefix": "sha1="}, {"algorithm": "sha1", "prefix": "sha1="}),
        (
            {"algorithm": "sha512", "encoding": "base64"},
            {"algorithm": "sha512", "encoding": "base64"},
        ),
        (
            {"timestamp_header": "X-Timestamp", "signed_content": "{timestamp}.{body}"},
            {"timestamp_header": "X-Timestamp", "separator": "."},
        ),
        (
            {
                "encoding": "base64",
                "prefix": "v1,",
                "timestamp_header": "X-Ts",
                "signed_content": "{timestamp}:{body}",
            },
            {"encoding": "base64", "prefix": "v1,", "timestamp_header": "X-Ts", "separator": ":"},
        ),
    ],
)
def test_the_hmac_scheme_verifies_what_its_description_says(make, described, signing):
    endpoint = make("hmac", signature_header="X-Sig", hmac=described)
    body = as_json({"event": "deploy"})
    headers = sign.generic_hmac("s3cret", body, header="X-Sig", **signing)

    refused(post(endpoint, body + b" ", **headers), "mismatch")
    response = post(endpoint, body, **headers)

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.get().event_type == "deploy"


def test_a_stale_hmac_timestamp_is_refused_naming_the_timestamp_check(make, settings):
    described = {"timestamp_header": "X-Ts", "signed_content": "{timestamp}.{body}"}
    endpoint = make("hmac", hmac=described)
    body = as_json({"event": "deploy"})
    old = int(time.time()) - 301
    headers = sign.generic_hmac(
        "s3cret",
        body,
        header="X-Webhook-Signature",
        timestamp_header="X-Ts",
        separator=".",
        timestamp=old,
    )

    message = refused(post(endpoint, body, **headers), "Timestamp check failed", "old")
    assert "tolerance is 300 s" in message
    settings.ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS = 600
    assert post(endpoint, body, **headers).status_code == 200


def test_the_hmac_description_is_stored_with_its_defaults_and_shown(make, api):
    endpoint = make("hmac", hmac={"encoding": "base64"})

    assert endpoint["hmac"] == {
        "algorithm": "sha256",
        "encoding": "base64",
        "prefix": "",
        "timestamp_header": "",
        "signed_content": "{body}",
    }
    shown = api.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").json()
    assert shown["hmac"]["encoding"] == "base64"


@pytest.mark.parametrize(
    ("described", "field"),
    [
        ({"algorithm": "md5"}, "hmac.algorithm"),
        ({"encoding": "base32"}, "hmac.encoding"),
        ({"signed_content": "{body}.{timestamp}"}, "hmac.signed_content"),
        ({"signed_content": "{timestamp}.{body}"}, "hmac.signed_content"),
        (
            {"timestamp_header": "X Ts", "signed_content": "{timestamp}.{body}"},
            "hmac.timestamp_header",
        ),
        ({"prefix": "$(reboot)"}, "hmac.prefix"),
        ({"salt": "x"}, "hmac.salt"),
        ({"algorithm": 256}, "hmac.algorithm"),
        ("sha256", "hmac"),
    ],
)
def test_a_bad_hmac_description_is_a_400_naming_the_field(api, channels, described, field):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "h", "verification": "hmac", "secret": "s", "rules": RULES, "hmac": described},
    )

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in json.dumps(error["details"])


def test_hmac_sha256_stays_an_alias_of_hex_sha256(make):
    endpoint = make("hmac_sha256")
    body = as_json({"event": "deploy"})

    headers = sign.generic_hmac("s3cret", body, header="X-Webhook-Signature", prefix="sha256=")

    assert post(endpoint, body, **headers).status_code == 200


# --- the token scheme ----------------------------------------------------------------


def test_the_token_scheme_compares_the_header_with_the_secret(make):
    endpoint = make(
        "token", secret="tok-123", signature_header="Authorization", token_prefix="Bearer "
    )
    body = as_json({"event": "alert"})

    refused(post(endpoint, body), "Authorization header is missing")
    refused(post(endpoint, body, HTTP_AUTHORIZATION="tok-123"), "must start with 'Bearer'")
    refused(post(endpoint, body, HTTP_AUTHORIZATION="Bearer tok-124"), "token")
    assert post(endpoint, body, HTTP_AUTHORIZATION="bearer tok-123").status_code == 200


def test_a_token_in_a_header_of_its_own_is_never_stored(make, api):
    endpoint = make("token", secret="tok-123", signature_header="X-Alert-Key")
    body = as_json({"event": "alert"})

    assert post(endpoint, body, HTTP_X_ALERT_KEY="tok-123").status_code == 200

    event = InboundEvent.objects.get()
    assert "tok-123" not in json.dumps(event.headers)
    shown = api.get(f"/api/v1/inbound-events/{event.pk}").json()
    assert "tok-123" not in json.dumps(shown)


def test_a_bad_token_prefix_is_a_400(api, channels):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "t",
            "verification": "token",
            "secret": "s",
            "rules": RULES,
            "token_prefix": "Bearer $(x) ",
        },
    )

    assert response.status_code == 400
    assert "token_prefix" in json.dumps(response.json()["error"]["details"])


def test_the_alertmanager_preset_sets_a_bearer_token(api, channels):
    endpoint = create_inbound_endpoint(
        api, preset="alertmanager", secret="tok", preset_channels=["slack"], preset_recipient="o"
    )

    assert endpoint["verification"] == "token"
    assert (endpoint["signature_header"], endpoint["token_prefix"]) == ("Authorization", "Bearer ")


def test_hmac_settings_are_checked_whenever_they_are_given(make, api):
    github = make("github")
    hmac_endpoint = make("hmac", hmac={"encoding": "base64"})

    def patch(endpoint: dict, fields: dict):
        return api.patch(
            f"/api/v1/inbound-endpoints/{endpoint['id']}", fields, content_type="application/json"
        )

    # Kept for a later switch to "hmac", so checked now.
    assert patch(github, {"hmac": {"algorithm": "md5"}}).status_code == 400
    assert patch(hmac_endpoint, {"hmac": {"encoding": "base32"}}).status_code == 400
    changed = patch(hmac_endpoint, {"hmac": {"algorithm": "sha1"}})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["hmac"]["algorithm"], changed.json()["hmac"]["encoding"]) == (
        "sha1",
        "hex",
    )
    switched = patch(github, {"verification": "token", "token_prefix": "Token "})
    assert switched.status_code == 200, switched.content
    assert switched.json()["token_prefix"] == "Token "


def test_an_hmac_description_broken_outside_the_api_is_a_401_not_a_500(make):
    endpoint = make("hmac")
    InboundEndpoint.objects.filter(pk=endpoint["id"]).update(hmac={"algorithm": "md5"})
    body = as_json({"event": "deploy"})

    response = post(
        endpoint, body, **sign.generic_hmac("s3cret", body, header="X-Webhook-Signature")
    )

    refused(response, "hmac.algorithm is invalid")


@pytest.mark.parametrize(
    ("headers", "check"),
    [
        ({}, "header"),
        (
            {
                "x-slack-request-timestamp": str(SLACK_TIMESTAMP),
                "x-slack-signature": SLACK_SIGNATURE,
            },
            "timestamp",
        ),
        (
            # "now" is read when the test runs, not when the module is collected: a full
            # run reaches this test many minutes later, past the 300 s window.
            {"x-slack-request-timestamp": "now", "x-slack-signature": SLACK_SIGNATURE},
            "signature",
        ),
    ],
)
def test_a_refusal_names_the_check_that_failed(headers, check):
    # What a preview reports apart: a pasted delivery is stale, not forged.
    if headers.get("x-slack-request-timestamp") == "now":
        headers = {**headers, "x-slack-request-timestamp": str(int(time.time()))}
    with pytest.raises(VerificationFailed) as refusal:
        SCHEMES["slack"].verify(SLACK_BODY, headers, SLACK_SECRET)

    assert refusal.value.check == check
