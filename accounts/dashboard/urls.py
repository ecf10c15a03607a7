from django.urls import path

from accounts.dashboard import keys, plan, switch, team, test_mode

urlpatterns = [
    path("switch/", switch.switch, name="switch-account-form"),
    path("switch/<str:account_id>", switch.switch, name="switch-account"),
    path("test-mode/", test_mode.switch_test_mode, name="dashboard-test-mode"),
    path("keys/", keys.key_list, name="dashboard-keys"),
    path("keys/new/", keys.key_create, name="dashboard-key-create"),
    path("keys/<str:key_id>/revoke/", keys.key_revoke, name="dashboard-key-revoke"),
    path("team/", team.team, name="dashboard-team"),
    path("team/invite/", team.invite, name="dashboard-team-invite"),
    path(
        "team/members/<int:membership_id>/role/",
        team.change_role,
        name="dashboard-team-role",
    ),
    path(
        "team/members/<int:membership_id>/remove/",
        team.remove,
        name="dashboard-team-remove",
    ),
    path(
        "team/invitations/<str:invitation_id>/revoke/",
        team.revoke_invitation,
        name="dashboard-invitation-revoke",
    ),
    path("invite/<str:token>/", team.accept, name="dashboard-invite-accept"),
    path("plan/", plan.plan, name="dashboard-plan"),
    path("plan/checkout/", plan.checkout, name="dashboard-plan-checkout"),
    path("plan/portal/", plan.portal, name="dashboard-plan-portal"),
]
