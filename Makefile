# Single entry point. `make book` and `make test` both first install the Debian packages the
# tests need (tools/system_deps.sh: as root; otherwise it stops with the command to type), then
# create .venv when it is missing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: system book serve test unit nbval bench sync clean

## dataset-fashion-mnist and chromium from Debian, when they are missing.
system:
	bash tools/system_deps.sh

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,book]'
	touch $@

## Build the HTML book into _build/html from the outputs stored in the notebooks.
book: system $(STAMP)
	$(BIN)/jupyter-book build . -W -n

## Build the book, then serve it at http://localhost:8000 (search needs a server: a page
## opened as a file shows titles only). PORT=8001 make serve for another port.
PORT ?= 8000
serve: book
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

## Unit tests, then every notebook executed end to end at smoke scale under strict nbval.
test: system $(STAMP)
	$(BIN)/python -m pytest tests --doctest-modules watlib
	SMOKE_TEST=1 $(BIN)/python -m pytest --nbval book/

unit: system $(STAMP)
	$(BIN)/python -m pytest tests --doctest-modules watlib

nbval: system $(STAMP)
	SMOKE_TEST=1 $(BIN)/python -m pytest --nbval book/

## Speed benchmarks (print ratios against a peer run in the same process).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ot.py

## Re-pair every notebook with its percent script after editing the .py side.
sync: $(STAMP)
	$(BIN)/jupytext --sync book/*.py

clean:
	rm -rf _build
