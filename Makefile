# Broadsheet. `make build` and `make test` set everything up themselves (Python 3.11+ and make only).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.build-stamp
DEV_STAMP := $(VENV)/.dev-stamp
# make bench's datatrove side: its own venv from its own lock, made only by `make bench`
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.bench-stamp

RAW     ?= raw
OUT     ?= dist
CONFIG  ?= dataset.toml
WORKERS ?=
STRICT  ?=
ALLOW_EMPTY ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 2
CORPUS  ?=
SIZES   ?= 250
BENCH_ARGS ?=
REPO    ?=
VERSION ?=
DRY_RUN ?=

.PHONY: setup build test publish bench eval lint schema lock clean

# Two stamps: what building needs (requirements.lock), and the tools that testing, linting,
# benchmarking and evaluating add (requirements-dev.lock). `make build` installs the first only.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Broadsheet needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock -c requirements.lock
	touch $@

# datatrove 0.10.1 and what its bench jobs import (bench/requirements-datatrove.lock), for
# `make bench` only: never installed into .venv, never by `make build` or `make test`.
$(BENCH_STAMP): bench/requirements-datatrove.lock
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements-datatrove.lock
	touch $@

setup: $(STAMP)  ## create .venv with the pinned dependencies

build: $(STAMP)  ## build the dataset from $(RAW) into $(OUT)
	$(BIN)/python -m builder --config $(CONFIG) build --raw $(RAW) --out $(OUT) $(if $(WORKERS),--workers $(WORKERS)) $(if $(STRICT),--strict) $(if $(ALLOW_EMPTY),--allow-empty)

test: $(DEV_STAMP)  ## run the whole test suite (slow scale tests included) in TEST_WORKERS processes
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

publish: $(STAMP)  ## publish $(OUT) to the Hub (REPO=, VERSION=, DRY_RUN=1)
	$(BIN)/python -m builder --config $(CONFIG) publish --release $(OUT) $(if $(REPO),--repo $(REPO)) $(if $(VERSION),--version $(VERSION)) $(if $(DRY_RUN),--dry-run)

bench: $(DEV_STAMP) $(BENCH_STAMP)  ## Broadsheet vs datatrove 0.10.1, the floor, incremental build, kill and resume, zstd levels, near-duplicates (SIZES=250,1000 CORPUS=../shared/corpus BENCH_ARGS=...)
	$(BIN)/python -m bench.build --sizes $(SIZES) --parts all --workers 2 --layouts sharded --skip-ray \
		--datatrove "$(BENCH_VENV)/bin/python bench/datatrove_jobs.py" --near 20000 \
		$(if $(CORPUS),--corpus $(CORPUS)) $(BENCH_ARGS)

eval: $(DEV_STAMP)  ## pipeline vs trafilatura and htmldate alone on a corpus with ground truth, and a WARC build (CORPUS=../shared/corpus)
	$(BIN)/python -m bench.evaluate --config $(CONFIG) $(if $(CORPUS),--corpus $(CORPUS))

lint: $(DEV_STAMP)  ## ruff (check and format), mypy, and the import contracts (pyproject.toml)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports --no-cache

schema: $(STAMP)  ## rewrite schema/article.schema.json and the docs' generated tables after changing a model
	$(BIN)/python -m builder schema

# `make lock`: the environment's pins split in two: the builder's dependencies, direct and
# transitive, go to requirements.lock; everything else (test, lint, bench tools) to the dev lock.
define SPLIT_LOCKS
import importlib.metadata as md, re
key = lambda name: re.sub(r"[-_.]+", "-", name).lower()
runtime, todo = set(), ["broadsheet"]
while todo:
    name = key(todo.pop())
    if name in runtime:
        continue
    runtime.add(name)
    try:
        requires = md.requires(name) or []
    except md.PackageNotFoundError:  # a dependency for another platform, not installed here
        continue
    todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
pins = sorted((line.strip() for line in open(".venv/all.txt") if "==" in line), key=str.lower)
for path, keep in (("requirements.lock", True), ("requirements-dev.lock", False)):
    header = [line for line in open(path) if line.startswith("#")]
    chosen = [pin for pin in pins if (key(pin.split("==")[0]) in runtime) == keep]
    open(path, "w").write("".join(header) + "\n".join(chosen) + "\n")
endef
export SPLIT_LOCKS

lock: $(DEV_STAMP)  ## re-pin both locks to what .venv holds (after a deliberate upgrade)
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/all.txt
	$(BIN)/python -c "$$SPLIT_LOCKS"
	rm $(VENV)/all.txt

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(OUT) .pytest_cache .ruff_cache .hypothesis .import_linter_cache *.egg-info
