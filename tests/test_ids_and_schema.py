import time

from oneping.ids import ULID_LENGTH, new_id


def test_public_ids_are_prefixed_opaque_and_time_ordered():
    first = new_id("msg")
    time.sleep(0.002)
    second = new_id("msg")

    assert first.startswith("msg_")
    assert len(first) == len("msg_") + ULID_LENGTH
    assert first < second
    burst = [new_id("msg") for _ in range(1000)]  # many within one millisecond
    assert burst == sorted(burst)
    assert len(set(burst)) == 1000


def test_openapi_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/account" in document["paths"]
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html


def test_the_openapi_schema_is_valid_and_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))

    schema = (tmp_path / "s.yml").read_text()
    for path in ("/api/v1/send:", "/api/v1/messages:", "/api/v1/channels/{id}/test:"):
        assert path in schema
