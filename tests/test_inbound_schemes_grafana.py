"""Grafana's webhook contact point, signed exactly as Grafana documents it: hex
HMAC-SHA256 with the shared secret, of `timestamp + ":" + body` when a timestamp header is
set in Grafana, of the body alone when none is (the timestamp header has no default name).
https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/#hmac-signature
"""

import hashlib
import hmac
import json
import time

from django.test import Client

from tests.inbound_helpers import create_inbound_endpoint, fixture, inbound_path
from webhooks.models import InboundEvent

SECRET = "grafana-shared-secret"


def grafana_signature(body: bytes, timestamp: str | None = None) -> str:
    # Independent of oneping's code and of tests/inbound_signing.py: the docs' formula.
    message = f"{timestamp}:".encode() + body if timestamp is not None else body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def grafana_endpoint(api, **fields) -> dict:
    return create_inbound_endpoint(
        api,
        preset="grafana",
        secret=SECRET,
        preset_channels=["slack"],
        preset_recipient="ops",
        **fields,
    )


def post(endpoint: dict, body: bytes, **headers):
    return Client().post(inbound_path(endpoint), body, content_type="application/json", **headers)


def test_a_grafana_alert_signed_with_the_timestamp_header_is_received(api, channels):
    # Given the preset, and in Grafana the timestamp header typed in as the README says.
    endpoint = grafana_endpoint(api)
    body = fixture("grafana_firing.json")
    timestamp = str(int(time.time()))
    headers = {
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE": grafana_signature(body, timestamp),
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE_TIMESTAMP": timestamp,
    }

    response = post(endpoint, body, **headers)

    assert response.status_code == 200, response.content
    event = InboundEvent.objects.get()
    assert event.event_type == "firing"  # the preset's event_type_from: the body's status
    assert endpoint["event_type_from"] == {"path": "status"}


def test_a_resolved_grafana_alert_records_resolved(api, channels):
    endpoint = grafana_endpoint(api)
    body = json.dumps({**json.loads(fixture("grafana_firing.json")), "status": "resolved"})
    timestamp = str(int(time.time()))

    response = post(
        endpoint,
        body.encode(),
        HTTP_X_GRAFANA_ALERTING_SIGNATURE=grafana_signature(body.encode(), timestamp),
        HTTP_X_GRAFANA_ALERTING_SIGNATURE_TIMESTAMP=timestamp,
    )

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.get().event_type == "resolved"


def test_the_grafana_preset_refuses_a_delivery_without_the_timestamp_header(api, channels):
    # Grafana sends no timestamp unless one is typed in: the preset says which to type.
    endpoint = grafana_endpoint(api)
    body = fixture("grafana_firing.json")

    response = post(endpoint, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=grafana_signature(body))

    assert response.status_code == 401
    assert (
        "X-Grafana-Alerting-Signature-Timestamp header is missing"
        in (response.json()["error"]["message"])
    )
    assert not InboundEvent.objects.exists()


def test_a_grafana_alert_signed_without_a_timestamp_header_is_received(api, channels):
    # Given no timestamp header in Grafana: the endpoint's hmac signs the body alone.
    endpoint = grafana_endpoint(api, hmac={"timestamp_header": "", "signed_content": "{body}"})
    assert endpoint["hmac"]["timestamp_header"] == ""
    body = fixture("grafana_firing.json")
    signature = grafana_signature(body)

    tampered = post(
        endpoint, body.replace(b"95%", b"15%"), HTTP_X_GRAFANA_ALERTING_SIGNATURE=signature
    )
    response = post(endpoint, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=signature)

    assert tampered.status_code == 401
    assert "mismatch" in tampered.json()["error"]["message"]
    assert response.status_code == 200, response.content
    assert InboundEvent.objects.get().event_type == "firing"
