# The two commands of the README: `make demo` and `make test`. `make bench` runs benchmarks/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ALLISON := recipes/allison_8k/downloads
FLITE2ALLISON := recipes/flite2allison_16k/downloads
DOWNLOADS := downloads
DEMO_CONF ?= conf/demo.toml

.PHONY: demo test bench mutation mutation-retest check-pages install data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installed marker: reinstall when pyproject.toml or constraints.txt changes. The exact versions
# come from constraints.txt (torch first: the CPU wheel on disk, never a CUDA build).
PIP := $(BIN)/pip install -q --disable-pip-version-check -c constraints.txt
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) setuptools wheel
	$(PIP) torch
	$(PIP) -e ".[dev,gen]"
	touch $@

install: $(VENV)/.installed

# Real data, fetched once into git-ignored folders without root: the Allison prompts (Debian
# asterisk-core-sounds-en-wav), Allison at 16 kHz in G.722 with the transcripts and the flite voices
# (recipes/flite2allison_16k), Fashion-MNIST (Debian dataset-fashion-mnist) and EDICT (Debian edict).
data: $(ALLISON)/.done $(FLITE2ALLISON)/.done $(DOWNLOADS)/dataset-fashion-mnist/.done $(DOWNLOADS)/edict/.done
$(ALLISON)/.done:
	recipes/allison_8k/local/download.sh $(ALLISON)
$(FLITE2ALLISON)/.done:
	recipes/flite2allison_16k/local/download.sh $(FLITE2ALLISON)
$(DOWNLOADS)/%/.done:
	scripts/fetch_deb.sh $* $(DOWNLOADS)/$*

test: install data
	$(BIN)/python -m pytest -q

demo: install data
	# --stop-stage 6: the demo writes its report, not the committed RESULTS.md (stage 7)
	cd recipes/allison_8k && PATH=$(CURDIR)/$(BIN):$$PATH PYTHON=$(CURDIR)/$(BIN)/python ./run.sh --conf $(DEMO_CONF) --stop-stage 6
	@echo "report: $(CURDIR)/recipes/allison_8k/exp/$(basename $(notdir $(DEMO_CONF)))/report/index.html"

# The report and listening-test pages in headless Chromium (Debian's `chromium`, installed by hand:
# `apt-get install chromium`): tests/test_browser.py, skipped where either is missing. Then, when the
# demo has run, its report page: every player and image must load (scripts/check_pages.py).
check-pages: install data
	$(PIP) "playwright==1.65.2"
	$(BIN)/python -m pytest -q tests/test_browser.py -rs
	if [ -f recipes/allison_8k/exp/demo/report/index.html ]; then $(BIN)/python scripts/check_pages.py report recipes/allison_8k/exp/demo/report; fi

# `make bench` runs every benchmark (tens of minutes); `make bench QUICK=1` a smoke run of each.
BENCH_FLAGS := $(if $(QUICK),--quick,)
bench: install data
	for b in extract train ddp memory synth seq2seq parallel; do $(BIN)/python benchmarks/bench_$$b.py $(BENCH_FLAGS) || exit 1; done

# Mutation testing of the numeric core (tests/mutation_scope.txt) with mutmut; slow, not in CI.
# Results are kept in mutants/ (git-ignored): a rerun re-tests only what changed. docs/testing.md.
mutation: install data
	$(PIP) "mutmut==3.8.1"
	OMP_NUM_THREADS=1 VAWGAN_TEST_PARALLEL_CACHE=$(CURDIR)/.cache/test-parallel $(BIN)/mutmut run $$(grep -v '^#' tests/mutation_scope.txt)
	$(BIN)/mutmut results

# After adding tests: test the survivors of the last run again, then run as above.
mutation-retest:
	$(BIN)/python scripts/mutation_retest.py
	$(MAKE) mutation

clean:
	rm -rf recipes/*/dump recipes/*/exp recipes/*/data
