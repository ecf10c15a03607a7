from django.test import override_settings


def test_healthz_reports_database_and_broker_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_an_unreachable_broker_without_its_error(client, db, caplog):
    # Nothing listens on port 1: a broker that cannot be reached.
    with override_settings(CELERY_BROKER_URL="redis://:hunter2-pw@127.0.0.1:1/0"):
        response = client.get("/healthz")

    assert response.status_code == 503
    # The answer is public: it says which part is down, never how (hosts, ports, users).
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable"}
    text = response.content.decode()
    for leak in ("127.0.0.1", ":1", "Error", "refused", "hunter2"):
        assert leak not in text
    # The operator finds the reason in the log.
    [record] = [r for r in caplog.records if r.name == "oneping.health"]
    assert record.getMessage() == "health check broker failed"
    assert record.exc_info is not None
