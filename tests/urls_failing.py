"""The real URLs plus two views that crash, to check how the API reports bugs."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from oneping.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_boom(request):
    raise RuntimeError("secret internals")


def plain_boom(request):
    raise RuntimeError("secret internals")


urlpatterns = [
    path("api/v1/test-boom", drf_boom),
    path("api/v1/test-plain-boom", plain_boom),
    *real_urlpatterns,
]
