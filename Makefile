# Two commands do all the set-up on a fresh machine and then run:
#   make demo   the agent answering real Bedrock events against the local sandbox
#   make test   the whole test suite (unit, contract, resilience, integration)
# Re-running is fast: each environment is rebuilt only when its requirements change.

PYTHON ?= python3
VENV := .venv
MCP_ENVS := .mcp-envs
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: setup demo test lint typecheck check bench clean

setup: $(VENV)/.installed $(MCP_ENVS)/security/.installed $(MCP_ENVS)/aws-api/.installed

$(VENV)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt -e .
	touch $@

$(MCP_ENVS)/%/.installed: mcp-servers/%.lock.txt
	$(PYTHON) -m venv $(MCP_ENVS)/$*
	$(MCP_ENVS)/$*/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(MCP_ENVS)/$*/bin/pip install $(PIP_FLAGS) -r $<
	touch $@

demo: setup
	$(VENV)/bin/security-agent demo

# pytest exits 5 when it collects nothing: an empty selection means the suite was lost, so say so
# (make itself then exits 2, like for any failure).
test: setup
	@status=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; fi; \
	exit $$status

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

check: lint typecheck test

bench: setup
	$(VENV)/bin/python -m bench

# The Lambda package's exact dependencies per architecture (agent_config/deploy/lambda-lock/<arch>.txt):
# requirements.txt resolved by pip for the Lambda platform, pinned and hashed. Run it (needs PyPI)
# after changing requirements.txt; the deploy refuses a lock that lacks one of its requirements.
.PHONY: lambda-lock
lambda-lock: $(VENV)/.installed
	$(VENV)/bin/python -m agent_config.deploy.lock

clean:
	rm -rf $(VENV) $(MCP_ENVS) .pytest_cache .mypy_cache .ruff_cache .coverage
