# Broadsheet. `make build` and `make test` set everything up themselves (Python 3.11+ and make only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

RAW     ?= raw
OUT     ?= dist
CONFIG  ?= dataset.toml
WORKERS ?=
STRICT  ?=
ALLOW_EMPTY ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 2
CORPUS  ?=
REPO    ?=
VERSION ?=
DRY_RUN ?=

.PHONY: setup build test publish bench eval lint schema lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Broadsheet needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(STAMP)  ## create .venv with the pinned dependencies

build: $(STAMP)  ## build the dataset from $(RAW) into $(OUT)
	$(BIN)/python -m builder --config $(CONFIG) build --raw $(RAW) --out $(OUT) $(if $(WORKERS),--workers $(WORKERS)) $(if $(STRICT),--strict) $(if $(ALLOW_EMPTY),--allow-empty)

test: $(STAMP)  ## run the whole test suite (slow scale tests included) in TEST_WORKERS processes
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

publish: $(STAMP)  ## publish $(OUT) to the Hub (REPO=, VERSION=, DRY_RUN=1)
	$(BIN)/python -m builder --config $(CONFIG) publish --release $(OUT) $(if $(REPO),--repo $(REPO)) $(if $(VERSION),--version $(VERSION)) $(if $(DRY_RUN),--dry-run)

bench: $(STAMP)  ## throughput vs the floor, worker scaling, peak RSS (SIZES=250,1000 CORPUS=../shared/corpus); near-duplicate precision, recall and share
	$(BIN)/python -m tests.bench $(if $(SIZES),--sizes $(SIZES)) $(if $(CORPUS),--corpus $(CORPUS))
	$(BIN)/python -m tests.bench_near --articles 20000 --settings "5-gram 16x7"

eval: $(STAMP)  ## pipeline vs trafilatura and htmldate alone on a corpus with ground truth, and a WARC build (CORPUS=../shared/corpus)
	$(BIN)/python -m tests.evaluate --config $(CONFIG) $(if $(CORPUS),--corpus $(CORPUS))

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

schema: $(STAMP)  ## rewrite schema/article.schema.json after changing the model
	$(BIN)/python -m builder schema

lock: $(STAMP)  ## re-pin requirements.lock to what .venv holds (after a deliberate upgrade)
	{ sed -n '1,3p' requirements.lock; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .hypothesis *.egg-info
