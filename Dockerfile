# syntax=docker/dockerfile:1
#
# One image for every PrefLab process: gunicorn (web), Celery workers, migrations.
#
#   docker build -t preflab .                                  # web tier (CPU)
#   docker build -t preflab-gpu --build-arg EXTRAS=ml \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .   # GPU worker
#
# The CUDA build of torch bundles its CUDA runtime as pip wheels, so the GPU image
# needs no CUDA base image: the NVIDIA container toolkit injects the driver at run time.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# --- dependencies: installed from pyproject.toml alone, so code edits keep this layer cached
FROM base AS deps
# Optional-dependency groups of pyproject.toml, comma separated ("" = web tier, "ml" = training).
ARG EXTRAS=""
# Where torch comes from: the CPU index keeps CUDA wheels (gigabytes) out of CPU images.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN python -m venv "$VIRTUAL_ENV"
COPY pyproject.toml /tmp/build/pyproject.toml
# pip resolves `torch==X` against PyPI (CUDA wheels by default), so torch is installed
# first from TORCH_INDEX_URL at the version pyproject.toml pins; the local build tag
# (+cpu, +cu128) still satisfies the pin when the rest is installed.
RUN python - "$EXTRAS" > /tmp/build/requirements.txt <<'EOF'
import sys
import tomllib

project = tomllib.load(open("/tmp/build/pyproject.toml", "rb"))["project"]
extras = [name.strip() for name in sys.argv[1].split(",") if name.strip()]
requirements = list(project["dependencies"])
for name in extras:
    requirements += project["optional-dependencies"][name]
print("\n".join(requirements))
EOF
RUN torch_pin="$(grep -E '^torch==' /tmp/build/requirements.txt || true)" \
 && if [ -n "$torch_pin" ]; then \
      pip install --index-url "$TORCH_INDEX_URL" "$torch_pin"; \
    fi \
 && pip install -r /tmp/build/requirements.txt \
 && pip check

# --- the application image
FROM base AS app
ARG EXTRAS=""
LABEL org.opencontainers.image.title="PrefLab" \
      org.opencontainers.image.description="Human preference data collection and reward-model / PPO / DPO training" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.preflab.extras="${EXTRAS}"

RUN groupadd --system --gid 10001 preflab \
 && useradd --system --uid 10001 --gid preflab --create-home --home-dir /home/preflab preflab \
 && mkdir -p /data \
 && chown preflab:preflab /data

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
COPY . /app

# The code runs from /app rather than from site-packages: settings find templates/ and
# static/ next to the config package (BASE_DIR), which a wheel install would not carry.
# PREFLAB_DATA_DIR=/data is a named volume in docker-compose.yml; a fresh named volume
# copies this directory's ownership, so the unprivileged user can write to it.
# HF_HOME keeps downloaded base models on that volume instead of the container layer.
ENV PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings \
    PREFLAB_DATA_DIR=/data \
    HF_HOME=/data/cache/huggingface

# Static files are baked into the image and served by WhiteNoise. A throwaway key and
# data dir keep the build from writing a secret key or a database into the image.
RUN SECRET_KEY=collectstatic-build-only PREFLAB_DATA_DIR=/tmp/preflab-build \
    python manage.py collectstatic --noinput \
 && rm -rf /tmp/preflab-build

USER preflab
EXPOSE 8000

# The web process by default; docker-compose.yml runs the same image as Celery workers
# and as the one-shot `migrate` service. gthread workers keep slow uploads from
# blocking a whole process, and their heartbeat does not kill long requests.
CMD ["gunicorn", "config.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "4", \
     "--threads", "4", \
     "--worker-class", "gthread", \
     "--timeout", "120", \
     "--access-logfile", "-"]
