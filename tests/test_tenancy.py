from accounts.models import ApiKey


def test_another_accounts_key_is_invisible_404_not_403(make_account, make_api_client):
    account_a = make_account("A")
    account_b = make_account("B")
    client_a = make_api_client(account_a)
    client_b = make_api_client(account_b)
    key_a = client_a.post_json("/api/v1/api-keys", {"name": "a's key"}).json()

    # B cannot read, list or revoke A's key
    assert client_b.get(f"/api/v1/api-keys/{key_a['id']}").status_code == 404
    assert key_a["id"] not in client_b.get("/api/v1/api-keys").content.decode()
    response = client_b.delete(f"/api/v1/api-keys/{key_a['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiKey.objects.get(pk=key_a["id"]).revoked_at is None

    # Each key sees its own account
    assert client_a.get("/api/v1/account").json()["id"] == account_a.id
    assert client_b.get("/api/v1/account").json()["id"] == account_b.id


def test_key_list_is_paginated_newest_first(account, make_api_client):
    client = make_api_client(account)
    for n in range(5):
        client.post_json("/api/v1/api-keys", {"name": f"k{n}"})

    page = client.get("/api/v1/api-keys?limit=2").json()

    assert [key["name"] for key in page["results"]] == ["k4", "k3"]
    assert page["next"]
    rest = client.get(page["next"]).json()
    assert [key["name"] for key in rest["results"]] == ["k2", "k1"]
