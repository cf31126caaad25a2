# Two entry points: `make run` (set up .venv and start the app) and `make test`
# (set up .venv and run linters plus the whole test suite headless).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-tools-stamp
CONSTRAINTS := packaging/constraints.txt

.PHONY: run test lint pytest wheel-check llama-server bench bench-ui bench-download bundle bundle-check tarball clean

# `make run` needs the runtime only; `make test` adds the pinned dev tools.
$(STAMP): pyproject.toml setup.py app/core/decoding/_logit_histogram.c packaging/build_bindings.sh $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sh packaging/system-deps.sh  # cmake and a C++ compiler for the bindings' build
	sh packaging/build_bindings.sh $(BIN)/python
	$(BIN)/python -m pip install -c $(CONSTRAINTS) -e ".[model]"
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -c $(CONSTRAINTS) -e ".[model,test]"
	touch $(TEST_STAMP)

run: $(STAMP)
	-sh packaging/system-deps.sh  # the window's system libraries; the app names any still missing
	$(BIN)/llm-playground

lint: $(TEST_STAMP)
	$(BIN)/ruff check app tests bench packaging
	$(BIN)/ruff format --check app tests bench packaging
	$(BIN)/mypy
	$(BIN)/lint-imports

# llama.cpp's llama-server and ggml-rpc-server from the bindings' own source (cached per
# version and CMAKE_ARGS under ~/.cache/llm-playground; about 7 minutes the first time).
llama-server: $(STAMP)
	sh packaging/system-deps.sh
	sh packaging/build_llama_server.sh $(BIN)/python

pytest: $(TEST_STAMP) llama-server
	sh packaging/system-deps.sh
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

test: lint pytest

# The wheel, installed outside the checkout, finds its data files and passes the smoke test.
wheel-check: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/wheel_check.py

bench: $(STAMP)
	$(BIN)/python bench/decode_overhead.py

bench-ui: $(STAMP)
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} $(BIN)/python bench/ui_latency.py

bench-download: $(STAMP)
	$(BIN)/python bench/download.py

# The frozen app (PyInstaller onedir) in build/dist/llm-playground/, then its smoke test.
BUNDLE_STAMP := $(VENV)/.bundle-tools-stamp
$(BUNDLE_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[model,test,bundle]"
	touch $(BUNDLE_STAMP)

bundle: $(BUNDLE_STAMP) llama-server
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath build/dist --workpath build/pyinstaller packaging/llm-playground.spec
	@du -sh build/dist/llm-playground

bundle-check: bundle
	$(BIN)/python packaging/smoke_test.py

# Linux: the bundle and its desktop entry in one tarball.
tarball: bundle-check
	sh packaging/make_tarball.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
