# Partnerflow: `make run` starts everything on this machine; `make test` runs every check.
# Both install what they need first: Debian packages (apt-get, only when missing) and a
# Python virtual environment in .venv.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the project needs: PostgreSQL for the test suite's second database,
# Pango + HarfBuzz subsetting + DejaVu fonts (Cyrillic) for WeasyPrint, poppler-utils
# (pdftotext, pdfinfo) for the PDF tests, Chromium for the browser tests (Playwright drives
# /usr/bin/chromium; no browser is ever downloaded).
DEBIAN_PACKAGES := postgresql libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
	poppler-utils chromium

.PHONY: install install-system run test test-clock-ahead lint typecheck pytest bench soak fmt clean

install: install-system $(STAMP)

install-system:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (durable_rules does not import on 3.13)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/partnerflow run

lint: install
	$(BIN)/ruff check server tests bench wsgi.py
	$(BIN)/ruff format --check server tests bench wsgi.py

typecheck: install
	$(BIN)/mypy server tests

# The suite in TEST_WORKERS processes (pytest-xdist; each has its own PostgreSQL, Redis
# and Chromium; the fuzz tests share one, see tests/conftest.py). TEST_WORKERS=0 runs it
# in this process.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadgroup)

pytest: install
	PARTNERFLOW_REQUIRE_POSTGRES=1 PARTNERFLOW_REQUIRE_BROWSER=1 PARTNERFLOW_REQUIRE_EXAMPLES=1 $(BIN)/pytest $(PYTEST_PARALLEL)

test: lint typecheck pytest

# The suite with the wall clock a year ahead in every Python process it starts
# (tests/support/clock_ahead/sitecustomize.py, time-machine; the monotonic clocks that
# timeouts use are left alone): a test that depends on "today" without setting its own
# clock fails here. Not part of `make test` (it would double the run); README's Tests
# section says when it last ran.
CLOCK_AHEAD_DAYS ?= 365

test-clock-ahead: install
	PARTNERFLOW_CLOCK_AHEAD_DAYS=$(CLOCK_AHEAD_DAYS) PYTHONPATH=$(CURDIR)/tests/support/clock_ahead PARTNERFLOW_REQUIRE_POSTGRES=1 PARTNERFLOW_REQUIRE_BROWSER=1 PARTNERFLOW_REQUIRE_EXAMPLES=1 $(BIN)/pytest $(PYTEST_PARALLEL)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Every benchmark at its default size; results in bench/results/, plots in docs/img/.
bench: install $(BENCH_STAMP)
	$(BIN)/python -m bench

# The long load run (1M events through the API into PostgreSQL, 2 workers): throughput,
# queue latency, admin page p95 under load, worker RSS over time. Not part of make test.
soak: install $(BENCH_STAMP)
	$(BIN)/python bench/bench_pipeline.py --events 1000000 --workers 2 --db postgresql --name soak

fmt: install
	$(BIN)/ruff format server tests bench wsgi.py
	$(BIN)/ruff check --fix server tests bench wsgi.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
