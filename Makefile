# Two commands: `make run` (install pinned, then run the pipeline) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: install run test test-fast bench report readme lock clean

$(BIN)/snakemake: requirements.lock requirements-data.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -r requirements-data.lock
	touch $@

install: $(BIN)/snakemake

# Your own config and results folder: make run CONFIG=my.yaml OUT=runs/mine
# CONFIG is checked first (a YAML mistake is named with file, line and column); OUT runs
# in that folder (results/ and logs/ there), reading relative data paths from here.
CONFIG ?=
OUT ?=
SNAKEMAKE_ARGS := $(if $(CONFIG),--configfile $(abspath $(CONFIG))) \
  $(if $(OUT),--directory $(abspath $(OUT)) --config input_dir=$(CURDIR))

run: install
	$(if $(CONFIG),PYTHONPATH=workflow $(BIN)/python -m scalelaw.config $(CONFIG))
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)

report: run
	$(BIN)/snakemake --report $(if $(OUT),$(abspath $(OUT))/)report.html $(SNAKEMAKE_ARGS)

# Copy the results table of the default run into README.md (tests/test_report.py checks its shape).
readme: run
	PYTHONPATH=workflow $(BIN)/python -m scalelaw.report results/report/summary.md README.md

test: install
	$(BIN)/python -m pytest -ra

bench: install
	$(BIN)/python benchmarks/run.py

test-fast: install
	$(BIN)/python -m pytest -ra -m "not slow and not cluster"

# Re-resolve the pins (needs PyPI); then update envs/*.yaml to match (tests/test_envs.py checks).
lock:
	$(PYTHON) -m venv /tmp/scalelaw-lock && /tmp/scalelaw-lock/bin/pip install -e ".[lock]" && \
	  /tmp/scalelaw-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf results/* logs .snakemake report.html
