# Two commands matter:  make book  (the main job)  and  make test.
# Both create or update .venv (a no-op when pyproject.toml has not changed).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROFILE ?= quick
RERUN  ?= 0
export PERCEPIANO_PROFILE ?= $(PROFILE)

.PHONY: test test-all book book-check sysdeps venv lint clean bench bench-predict data

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,book,transcribe]'
	@touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash scripts/sysdeps.sh --book

# make test: the unit and fast integration tests (minutes; what to run while working)
# make test-all: everything, as CI does: every experiment in the smoke profile once, compared
# with the committed results/smoke/, the smoke audio model, and the smoke book read in Chromium
test: $(STAMP) sysdeps
	$(PY) -m pytest -q -m "not slow" --durations=15

test-all: $(STAMP) sysdeps
	@bash scripts/sysdeps.sh --book
	$(PY) -m pytest -q --durations=25

lint: $(STAMP)
	$(VENV)/bin/ruff check percepiano tests

clean:
	rm -rf _build .pytest_cache

# the speed benchmark: training step beside PyTorch eager, one cross-validation's wall time and
# peak memory; writes results/$(PROFILE)/bench/ (needs the data, like the book)
bench: $(STAMP) data
	$(PY) -m pip install -q -e '.[torch]'
	$(VENV)/bin/percepiano bench --profile $(PROFILE)

# how long `percepiano predict` takes, process start to exit (/usr/bin/time -v): one 30-s file
# and a folder of 20, for MIDI and for audio input (the final models are built first, once)
bench-predict: $(STAMP) data
	$(PY) scripts/bench_predict.py --kind midi
	$(PY) scripts/bench_predict.py --kind audio

# ---- the book -------------------------------------------------------------------------------
#   make book                          build _build/html from the results stored for PROFILE
#   make book RERUN=1 PROFILE=quick    recompute every experiment of PROFILE first
#   make book-check                    smoke build from scratch, every page read in Chromium
#                                      (also run by `make test`: tests/test_book.py, slow)
# the data: $PERCEPIANO_DATA, else data/PercePiano, downloaded and verified when missing
data: $(STAMP)
	@if [ -z "$$PERCEPIANO_DATA" ] && [ ! -d data/PercePiano ]; then \
		$(VENV)/bin/percepiano data fetch --dest data/PercePiano; fi

# FluidSynth and its soundfonts render the week-4 chapter's sound examples (Chromium is not
# needed: only the book check reads the pages)
book: $(STAMP) data
	@bash scripts/sysdeps.sh
	$(PY) scripts/book_check.py build --profile $(PROFILE) $(if $(filter 1,$(RERUN)),--rerun)

book-check: $(STAMP)
	@bash scripts/sysdeps.sh --book
	$(PY) scripts/book_check.py check
