# `make run` and `make test` set everything up on a fresh machine: each creates
# .venv when missing and installs the project into it (fast when up to date).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run scheduler worker test test-cluster cluster cluster-stop lint bench chromium nginx js docs clean

$(RUN_STAMP): pyproject.toml clients/python/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . -e clients/python
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	@touch $@

run: $(RUN_STAMP)
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# A scheduler process (the server's workers run one each already); run any number.
scheduler: $(RUN_STAMP)
	$(BIN)/notifier scheduler

# A delivery worker (web push, email, mobile push, SMS); run any number beside the server.
worker: $(RUN_STAMP)
	$(BIN)/notifier worker

# The suite twice, each pass on 3 parallel test processes (each with its own
# redis-server or cluster and its own app servers): on one redis-server, then on a
# local Redis Cluster (3 masters, 3 replicas) without the browser tests, whose pages
# make the same calls as the HTTP tests of the pages; tests marked single_redis, about
# one server itself, are skipped there.
PYTEST_PARALLEL := -n 3 --dist worksteal

test: $(TEST_STAMP) chromium nginx
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_PARALLEL)
	NOTIFIER_TEST_REDIS=cluster $(BIN)/pytest $(PYTEST_PARALLEL) -m "not browser"

# The cluster pass alone.
test-cluster: $(TEST_STAMP)
	NOTIFIER_TEST_REDIS=cluster $(BIN)/pytest $(PYTEST_PARALLEL) -m "not browser"

# A local Redis Cluster in instance/cluster for trying the cluster mode: prints its
# REDIS_URL (redis+cluster://...). `make cluster-stop` stops it.
cluster: $(RUN_STAMP)
	$(BIN)/python -m notifier.stores.local_cluster start instance/cluster

cluster-stop: $(RUN_STAMP)
	$(BIN)/python -m notifier.stores.local_cluster stop instance/cluster

# Browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || scripts/install-chromium

# The reverse-proxy tests run Debian's nginx with deploy/nginx/notifier.conf (never as a service).
nginx:
	@scripts/install-nginx

# The plain-script builds of the JS client (static/notifier.js, static/notifier-widget.js)
# from static/notifier.mjs and static/src/widget.js; a test checks they are current.
js:
	$(PYTHON) scripts/build_js.py

# docs/configuration.md from the #: comments in notifier/config.py and gunicorn.conf.py;
# a test checks it is current.
docs:
	$(PYTHON) scripts/gen_config_doc.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@touch $@

# Takes about 30 minutes; prints one JSON line per benchmark.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/send_throughput.py
	$(BIN)/python bench/send_profile.py
	$(BIN)/python bench/sse_load.py
	$(BIN)/python bench/presence_churn.py
	$(BIN)/python bench/fanout_floor.py
	$(BIN)/python bench/group_fanout.py
	$(BIN)/python bench/worker_throughput.py
	$(BIN)/python bench/channel_adapters.py
	$(BIN)/python bench/stream_soak.py
	$(BIN)/python bench/cluster_compare.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
