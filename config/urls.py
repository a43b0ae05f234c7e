"""The site's routes: each app's pages, and the REST API (version 1) under ``/api/v1/``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation import urls as annotation
from common.api.token import TokenApi
from common.web import health
from projects import urls as projects
from training import urls as training

APPS = (projects, annotation, training)

api_urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: no inline script for the CSP to refuse.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *(route for app in APPS for route in app.api_urlpatterns),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_urlpatterns)),
    *(route for app in APPS for route in app.urlpatterns),
]

handler404 = "common.web.health.not_found"
handler500 = "common.web.health.server_error"
