# Two commands on a fresh machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PODIUM_HOME ?= $(CURDIR)/.podium-demo

.PHONY: demo test test-setup test-fast lint java system postgres chromium airflow clean

# pip installs uv (the range pyproject.toml pins), uv the rest: 48 s instead of pip's 79 s
# on a fresh machine (docs/benchmarks.md, "The whole suite").
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.13,<0.14'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[test]'
	touch $(STAMP)

java: $(STAMP)
	@$(PY) -m podium.compute.prepare

demo: $(STAMP) java
	$(VENV)/bin/podium validate examples/quickstart
	$(VENV)/bin/podium run daily_sales --bundle examples/quickstart
	@echo "--- the report task's log (podium runs logs RUN_ID --task report):"
	@$(VENV)/bin/podium runs logs $$($(VENV)/bin/podium runs list --job daily_sales --limit 1 \
		--json | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["run_id"])') \
		--task report

postgres:
	@bash scripts/ensure-postgres.sh

chromium:
	@bash scripts/ensure-chromium.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

# A worker that dies ends the run (--max-worker-restart=0): xdist 3.8's --dist loadfile
# can wait for ever after it replaces a crashed worker (pytest-xdist#784, #1378).
# Three workers on two cores: with two, an eighth of the CPU sat idle while tests waited on
# servers, leases and schedules (docs/benchmarks.md, "The whole suite"). The set-up runs
# in parallel: apt-get while the venv installs, the class-data archive while the interop
# venvs do.
test:
	@$(MAKE) --no-print-directory -j4 -O test-setup
	$(VENV)/bin/pytest -n 3 --dist loadfile --max-worker-restart=0 --durations=30

test-setup: $(STAMP) java lint system interop/airflow/.venv/.installed-stamp \
		interop/databricks-connect/.venv/.installed-stamp

# What the suite needs from Debian, one apt-get after the other (they share dpkg's lock).
system:
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-postgres.sh

# The inner loop: the tests that start no Spark (tests/conftest.py's NO_SPARK_FILES).
test-fast: $(STAMP) lint postgres
	$(VENV)/bin/pytest -n 2 --max-worker-restart=0 -m no_spark

# Airflow's Databricks provider against podium serve (docs/api.md); its venv is built once.
interop/airflow/.venv/.installed-stamp: interop/airflow/requirements.txt $(STAMP)
	$(VENV)/bin/uv venv --quiet --allow-existing --python python3 interop/airflow/.venv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode \
		--python interop/airflow/.venv/bin/python -r interop/airflow/requirements.txt
	touch $@

# databricks-connect (docs/connect.md) replaces pyspark, so it never enters podium's venv.
interop/databricks-connect/.venv/.installed-stamp: interop/databricks-connect/requirements.txt \
		$(STAMP)
	$(VENV)/bin/uv venv --quiet --allow-existing --python python3 interop/databricks-connect/.venv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode \
		--python interop/databricks-connect/.venv/bin/python \
		-r interop/databricks-connect/requirements.txt
	touch $@

airflow: $(STAMP) java interop/airflow/.venv/.installed-stamp
	bash interop/airflow/check.sh

clean:
	rm -rf $(VENV) .podium-demo .pytest_cache
