"""Dashboard: contacts (the pattern the other dashboard pages follow)."""

from channels_app.models import Contact

SLACK_URL = "https://hooks.slack.com/services/T0/B0/secretpart"


def test_create_edit_and_delete_a_contact(owner_client, account):
    response = owner_client.post(
        "/contacts/new/",
        {"identifier": "jane", "name": "Jane", "email": "jane@example.com", "slack": SLACK_URL},
    )
    assert response.status_code == 302
    contact = Contact.objects.get(account=account)
    assert contact.addresses == {"email": "jane@example.com", "slack": SLACK_URL}

    listing = owner_client.get("/contacts/").content.decode()
    assert "jane@example.com" in listing
    assert SLACK_URL not in listing  # webhook URLs are secrets, shown masked
    assert "…part" in listing

    # Editing without retyping the Slack URL keeps it.
    owner_client.post(f"/contacts/{contact.pk}/", {"identifier": "jane", "name": "Jane D."})
    contact.refresh_from_db()
    assert contact.name == "Jane D."
    assert contact.addresses["slack"] == SLACK_URL

    owner_client.post(f"/contacts/{contact.pk}/delete/")
    assert not Contact.objects.exists()


def test_field_errors_are_shown_next_to_the_field(owner_client, account):
    Contact.objects.create(account=account, identifier="taken")

    response = owner_client.post(
        "/contacts/new/", {"identifier": "taken", "email": "not-an-email", "telegram": "me"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "A contact with this identifier already exists." in html
    assert "Enter a valid email address." in html
    assert Contact.objects.count() == 1


def test_members_can_read_but_not_change_contacts(member_client, account):
    Contact.objects.create(account=account, identifier="x")

    page = member_client.get("/contacts/")
    assert page.status_code == 200
    assert "New contact" not in page.content.decode()
    assert member_client.post("/contacts/new/", {"identifier": "y"}).status_code == 403
    assert Contact.objects.count() == 1


def test_another_accounts_contact_is_404(owner_client, make_account):
    other = make_account("Other")
    contact = Contact.objects.create(account=other, identifier="theirs")

    assert owner_client.get(f"/contacts/{contact.pk}/").status_code == 404
    assert owner_client.post(f"/contacts/{contact.pk}/delete/").status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
