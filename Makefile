# The two commands the README promises: `make demo` and `make test`. Both set up what they need on first run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: lock audit venv sf-cli pulumi test demo lint bench fleet status generate clean

# The runtime (requirements.in: what the Pulumi program and its providers need) plus the development tools
# (requirements-dev.in: tests, emulator, engine, lint), in the .venv Pulumi.yaml points the runtime at. They
# are installed from their lock files (`make lock`: pip-compile --generate-hashes), which pin every package,
# transitive ones included, to a version and to the sha256 of its files: a fresh clone gets exactly what was
# tested, and pip refuses a download whose hash differs (--require-hashes). This is the only way .venv is
# built: it holds a committed README.md so Pulumi never finds it missing or empty and builds it itself
# without hashes, and there is no requirements.txt for Pulumi to install (see .venv/README.md).
$(STAMP): requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $(STAMP)

venv: $(STAMP)

# The official Salesforce CLI, the emulator's acceptance client (tests/acceptance), with the Node >= 22 it needs
# (the CLI does not start on older Node): both from npm, pinned by devtools/sf_cli/package-lock.json, installed
# into the git-ignored .tools/sf-cli once (npm ci; the stamp follows the lock file).
SF_CLI := .tools/sf-cli
SF_STAMP := $(SF_CLI)/.installed

$(SF_STAMP): devtools/sf_cli/package.json devtools/sf_cli/package-lock.json
	rm -rf $(SF_CLI) && mkdir -p $(SF_CLI)
	cp devtools/sf_cli/package.json devtools/sf_cli/package-lock.json $(SF_CLI)/
	@start=$$(date +%s); \
	cd $(SF_CLI) && npm ci --no-audit --no-fund --loglevel=error && \
	echo "sf-cli: installed in $$(( $$(date +%s) - start ))s"
	touch $@

sf-cli: $(SF_STAMP)

# The real Pulumi CLI every lifecycle test, the demo and the bench run (devtools/pulumi_cli/README.md): a
# suitable `pulumi` on PATH, else one built with `go build` from Pulumi's own Go modules (pinned by
# devtools/pulumi_cli/go.sum) into a cache outside the clone. The last line printed is its absolute path.
# GOTOOLCHAIN: `local` unless the one sanctioned newer Go (go1.27.3) is asked for.
PULUMI_FIND := $(PYTHON) devtools/pulumi_cli/build.py

pulumi:
	@$(PULUMI_FIND)

# On every core (pytest-xdist), a test file per worker at a time: module fixtures (one org, one CLI home)
# stay in one process, and CI keeps under 10 minutes on 2 cores.
test: $(STAMP) $(SF_STAMP)
	ECI_PULUMI="$$($(PULUMI_FIND))" && export ECI_PULUMI && $(PY) -m pytest -q -n auto --dist loadfile

# ruff over everything, mypy over every package (tests included).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy salesforce providers components devtools tools tests __main__.py

# What is written from the one declaration of a fact: Pulumi.yaml's config block and the README's config
# table (from the config keys in providers/config/keys.py), docs/contracts.md's
# resource table (from the inputs models). tests/test_generated.py fails when any is stale.
generate: $(STAMP)
	$(PY) -m devtools.generate

demo: $(STAMP)
	ECI_PULUMI="$$($(PULUMI_FIND))" && export ECI_PULUMI && $(PY) -m devtools.demo

# Costs per operation against the emulator (200 ms per call), beside an admin's `sf` script (the pinned CLI, hence
# SF_STAMP): one table, also as JSON (docs/benchmarks.md); flags after BENCH_ARGS, e.g. BENCH_ARGS="--fleet 1,4".
bench: $(STAMP) $(SF_STAMP)
	ECI_PULUMI="$$($(PULUMI_FIND))" && export ECI_PULUMI && $(PY) -m devtools.bench $(BENCH_ARGS)

# Many org stacks at once through Pulumi's Automation API (needs the pulumi CLI), e.g.
#   make fleet VERB=up STACKS=dev,uat,prod FLEET_ARGS="--secret-env eci-aircall:accessToken=SF_TOKEN_{STACK}"
fleet: $(STAMP)
	$(PY) tools/fleet.py $(or $(VERB),preview) --stacks $(or $(STACKS),all) $(FLEET_ARGS)

# Each org stack's status, read live and written nowhere (tools/status.py): the guide's tasks, health, drift;
# non-zero exit when anything is not done. E.g. make status STACKS=uat,prod STATUS_ARGS="--json status.json"
status: $(STAMP)
	$(PY) tools/status.py --stacks $(or $(STACKS),all) $(STATUS_ARGS)

# .venv/README.md stays (committed; see there).
clean:
	find $(VENV) -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .demo .state .tools

# The lock files, from requirements.in / requirements-dev.in / requirements-audit.in (the direct dependencies; not
# requirements.txt, the one name Pulumi would install from without hashes): run after changing a
# pin. pip-tools lives in .tools/pip-tools, not in the project's venv (it is not needed to build or test).
PIP_TOOLS := .tools/pip-tools
lock:
	test -x $(PIP_TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(PIP_TOOLS) && \
		$(PIP_TOOLS)/bin/pip install --quiet pip-tools)
	for f in requirements requirements-dev requirements-audit; do \
		$(PIP_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
			--no-emit-index-url --no-emit-find-links --output-file $$f.lock $$f.in || exit 1; \
	done

# Advisory: known vulnerabilities in the locked packages (pip-audit). Says so, and exits 0, where the
# vulnerability database cannot be reached (devtools/audit.py). pip-audit comes from its own hashed lock,
# requirements-audit.lock, into .tools/audit (--require-hashes), never from an unpinned install.
audit: $(STAMP)
	$(PY) -m devtools.audit
