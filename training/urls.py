"""Routes of the training app: each sub-domain's pages and REST endpoints."""

from training.datasets import urls as datasets
from training.loop import urls as loop
from training.runs import urls as runs

SUBDOMAINS = (datasets, runs, loop)

urlpatterns = [route for sub in SUBDOMAINS for route in sub.urlpatterns]
api_urlpatterns = [route for sub in SUBDOMAINS for route in sub.api_urlpatterns]
