"""The site's URL configuration plus one route that fails, for the 500 page's test."""

from django.urls import path

from config import urls as site


def fail(request):
    raise RuntimeError("a view that fails, as any unforeseen bug would")


urlpatterns = [path("test-failure/", fail), path("api/v1/test-failure/", fail), *site.urlpatterns]
handler404 = site.handler404
handler500 = site.handler500
