from django.urls import path

from accounts.dashboard import switch

urlpatterns = [
    path("switch/<str:account_id>", switch.switch, name="switch-account"),
]
