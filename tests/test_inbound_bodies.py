"""Inbound bodies: JSON, urlencoded and multipart forms become the payload the rules see,
while signatures are checked over the raw bytes, which are stored unchanged."""

from urllib.parse import urlencode

from django.test import Client
from urllib3.filepost import encode_multipart_formdata

from tests.conftest import wait_until
from tests.inbound_helpers import create_inbound_endpoint, hmac_headers, inbound_path
from webhooks.inbound import payload as payloads
from webhooks.inbound import processing
from webhooks.models import InboundEvent

SECRET = "form-secret"


def slack_rule(message: str) -> list[dict]:
    return [{"event": "*", "message": message, "channels": ["slack"], "recipient": "ops"}]


def jotform_body() -> tuple[bytes, str]:
    """A Jotform-shaped submission with a file upload, encoded by urllib3 (not our code)."""
    return encode_multipart_formdata(
        [
            ("formID", "241234567890"),
            ("formTitle", "Job application"),
            ("q3_name", "Ada Lövelace"),
            ("q5_skills", "python"),
            ("q5_skills", "django"),
            ("q7_resume", ("cv.pdf", b"%PDF-1.4 " + b"x" * 2000, "application/pdf")),
        ]
    )


def test_a_multipart_submission_reaches_slack_through_the_worker(
    api, channels, slack, celery_worker
):
    # Given an HMAC endpoint whose rule reads form fields and the uploaded file's details
    endpoint = create_inbound_endpoint(
        api,
        verification="hmac_sha256",
        secret=SECRET,
        rules=slack_rule(
            "{{ formTitle }} from {{ q3_name }} ({{ q5_skills | join(', ') }}): "
            "{{ q7_resume.filename }}, {{ q7_resume.size }} bytes, {{ q7_resume.content_type }}"
        ),
    )
    body, content_type = jotform_body()

    # When the form is posted, signed over its raw bytes
    response = Client().post(
        inbound_path(endpoint), body, content_type=content_type, **hmac_headers(SECRET, body)
    )

    # Then the worker turns it into a Slack message, and the raw body is what is stored
    assert response.status_code == 200, response.content
    wait_until(lambda: slack.requests, timeout=30)
    assert slack.requests[0].json() == {
        "text": "Job application from Ada Lövelace (python, django): "
        "cv.pdf, 2009 bytes, application/pdf"
    }
    event = InboundEvent.objects.get()
    assert bytes(event.body) == body
    assert event.content_type.startswith("multipart/form-data; boundary=")


def test_the_file_itself_is_not_in_the_payload():
    body, content_type = jotform_body()

    parsed = payloads.parse(body, content_type)

    assert parsed["q7_resume"] == {
        "filename": "cv.pdf",
        "size": 2009,
        "content_type": "application/pdf",
    }
    assert "%PDF" not in repr(parsed)


def test_a_multipart_body_changed_after_signing_is_refused(api, channels):
    endpoint = create_inbound_endpoint(
        api, verification="hmac_sha256", secret=SECRET, rules=slack_rule("{{ formTitle }}")
    )
    body, content_type = jotform_body()
    headers = hmac_headers(SECRET, body)

    response = Client().post(
        inbound_path(endpoint),
        body.replace(b"Job application", b"Job applicatioN"),
        content_type=content_type,
        **headers,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not InboundEvent.objects.exists()


def test_a_urlencoded_form_becomes_fields_with_repeated_names_as_lists(api, channels, slack):
    endpoint = create_inbound_endpoint(
        api,
        verification="hmac_sha256",
        secret=SECRET,
        rules=slack_rule("{{ name }} wants {{ size | join('+') }} ({{ note }})"),
    )
    body = urlencode([("name", "Zoë"), ("size", "S"), ("size", "M"), ("note", "a&b=c")]).encode()

    response = Client().post(
        inbound_path(endpoint),
        body,
        content_type="application/x-www-form-urlencoded",
        **hmac_headers(SECRET, body),
    )
    assert response.status_code == 200, response.content
    processing.process(InboundEvent.objects.get().pk)

    event = InboundEvent.objects.get()
    assert event.status == "processed", event.error
    assert event.message.body == "Zoë wants S+M (a&b=c)"


def test_a_form_payload_field_is_read_as_json(api, channels):
    # GitHub's "application/x-www-form-urlencoded" content type: payload=<the JSON event>.
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=slack_rule("{{ action }} by {{ sender.login }}")
    )
    body = urlencode({"payload": '{"action": "opened", "sender": {"login": "octocat"}}'})

    Client().post(inbound_path(endpoint), body, content_type="application/x-www-form-urlencoded")
    processing.process(InboundEvent.objects.get().pk)

    assert InboundEvent.objects.get().message.body == "opened by octocat"


def test_a_multipart_body_without_a_boundary_is_stored_with_no_payload(api, channels):
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=slack_rule("{{ formTitle }}")
    )
    body, _ = jotform_body()

    response = Client().post(inbound_path(endpoint), body, content_type="multipart/form-data")
    assert response.status_code == 200
    processing.process(InboundEvent.objects.get().pk)

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert event.error == "template variable 'formTitle' is undefined"


def test_forms_are_read_up_to_the_field_limit():
    many = "&".join(f"f{i}=v" for i in range(payloads.MAX_FIELDS + 50)).encode()
    body, content_type = encode_multipart_formdata(
        [(f"f{i}", "v") for i in range(payloads.MAX_FIELDS + 5)]
    )

    form = payloads.parse(many, payloads.FORM)
    multipart = payloads.parse(body, content_type)

    assert len(form) == payloads.MAX_FIELDS
    assert "f999" in form and "f1000" not in form
    assert len(multipart) == payloads.MAX_FIELDS


def test_json_and_other_bodies():
    assert payloads.parse(b'{"a": [1, 2]}', "application/json") == {"a": [1, 2]}
    assert payloads.parse(b'{"a": 1}', "") == {"a": 1}
    assert payloads.parse(b"\xff\xfe not text", "application/json") is None
    assert payloads.parse(b"%E9t%C3", payloads.FORM) == {"\ufffdt\ufffd": ""}


def test_multipart_names_in_utf8_a_quoted_boundary_and_a_preamble():
    body = (
        "preamble to ignore\r\n"
        '--"a b"\r\nContent-Disposition: form-data; name="prénom"\r\n\r\nZoë\r\n'
        '--"a b"\r\nContent-Disposition: form-data; name="pièce"; filename="reçu.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF\r\n"
        '--"a b"--\r\nepilogue'
    ).encode()

    parsed = payloads.parse(body, 'multipart/form-data; boundary="\\"a b\\""')

    assert parsed == {
        "prénom": "Zoë",
        "pièce": {"filename": "reçu.pdf", "size": 4, "content_type": "application/pdf"},
    }


def test_a_megabyte_of_empty_parts_is_read_only_to_the_field_limit():
    part = b"--X\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
    body = part * (1024 * 1024 // len(part)) + b"--X--"

    parsed = payloads.parse(body, "multipart/form-data; boundary=X")

    assert parsed == {"a": [""] * payloads.MAX_FIELDS}
