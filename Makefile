# The two commands the README promises: `make demo` and `make test`. Both set up what they need on first run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint bench fleet config clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy providers components

# Pulumi.yaml's config block, generated from the key declarations (providers/config_keys.py, salesforce/settings.py).
config: $(STAMP)
	$(PY) -m components.config

demo: $(STAMP)
	$(PY) -m devtools.demo

# Costs per operation against the emulator (200 ms per call); flags after BENCH_ARGS, e.g. BENCH_ARGS="--fleet 1,4".
bench: $(STAMP)
	$(PY) -m devtools.bench $(BENCH_ARGS)

# Many org stacks at once through Pulumi's Automation API (needs the pulumi CLI), e.g.
#   make fleet VERB=up STACKS=dev,uat,prod FLEET_ARGS="--secret-env eci-aircall:accessToken=SF_TOKEN_{STACK}"
fleet: $(STAMP)
	$(PY) tools/fleet.py $(or $(VERB),preview) --stacks $(or $(STACKS),all) $(FLEET_ARGS)

clean:
	rm -rf $(VENV) .demo .state
