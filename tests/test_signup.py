from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Account, Membership, User


def test_signup_through_allauth_creates_user_account_and_owner_membership(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "jane@example.com",
            "password1": "a-long-and-unusual-pass",
            "password2": "a-long-and-unusual-pass",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="jane@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.account.plan.name == "free"
    assert membership.account.plan.monthly_quota == 100
    # Verification is optional by default: logged in at once, asked to verify by email.
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert "jane@example.com" in mail.outbox[0].to

    overview = client.get("/")
    assert overview.status_code == 200
    assert membership.account.name in overview.content.decode()


def test_signup_with_a_taken_email_creates_nothing(client, account):
    owner_email = account.members.get().email

    response = client.post(
        "/accounts/signup/",
        {"email": owner_email, "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )

    assert response.status_code == 200  # the form again, with its error
    assert Account.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signup_login_and_logout_pages_render(client, db):
    for url in ("/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"):
        assert client.get(url).status_code == 200, url


def test_a_user_switches_between_their_accounts_but_not_into_others(client, make_account):
    from accounts import services

    first = make_account("First")
    user = first.members.get()
    second = services.create_account(owner=user, name="Second")
    stranger = make_account("Stranger")
    client.force_login(user)

    assert "First" in client.get("/").content.decode()
    assert client.post(f"/switch/{second.pk}").status_code == 302
    assert "Second" in client.get("/").content.decode()
    assert client.post(f"/switch/{stranger.pk}").status_code == 404
    assert "Second" in client.get("/").content.decode()


def test_the_top_bar_picker_switches_accounts_without_javascript(client, make_account):
    from accounts import services

    first = make_account("First")
    user = first.members.get()
    second = services.create_account(owner=user, name="Second")
    client.force_login(user)

    page = client.get("/contacts/").content.decode()
    assert 'action="/switch/"' in page and "Second" in page
    client.post("/switch/", {"account": second.pk})

    assert "Second" in client.get("/").content.decode().split("<h1>", 1)[1][:40]
