# Two commands for a newcomer:  `make run` (install, ingest seeds/, serve on :8000)  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test test-all lint eval bench clean

# The CPU build of torch goes in first and is pinned, so sentence-transformers never pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	# rapidocr-onnxruntime's metadata names the desktop opencv-python, which needs libGL and shares the cv2 folder with
	# the headless build the project declares: drop it, then restore the headless files it shared.
	$(PIP) uninstall -y -q opencv-python 2>/dev/null || true
	$(PIP) install -q --force-reinstall --no-deps opencv-python-headless
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/rag serve --host $(HOST) --port $(PORT) --ingest seeds

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m ''

lint: install
	$(VENV)/bin/ruff check rag ingest ui eval tests benchmarks

eval: install
	$(VENV)/bin/rag eval retrieval --dataset cmrc2018

clean:
	rm -rf $(VENV) data
