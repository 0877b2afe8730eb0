# hrnet_seg: set up and test on a fresh machine.
#   make install   create .venv and install the pinned stack, the project (editable) and dev tools
#   make test      run the test suite (installs first when needed)
#   make test-slurm  install Slurm, slurmdbd and MariaDB (apt, as root), start a local 2-node
#                  cluster (slurm/local_cluster.sh: each node in its own network namespace),
#                  run the tests marked `slurm`, always stop it, then check it left nothing
#   make test-oldest-torch  the unit tests on the oldest torch pyproject.toml accepts
#                  (a second venv, .venv-oldest; PyPI's CUDA build, run on CPU)
#   make demo      train and evaluate a small HRNet on built-in data (CPU, minutes)
#   make lint      ruff
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build that lies on this project's machines. Clusters: install your own
# CUDA torch first (any version in pyproject's range) and run `make install TORCH=`.
TORCH ?= torch==2.13.0
# lite: mmcv-lite (default, no compiled ops); full: mmcv with ops, built from source.
MMCV ?= lite
STAMP := $(VENV)/.installed-$(MMCV)

# pip prints errors only (-qq): a warning per package about an index folder of the
# machine's pip config is not the project's to act on. PIP_QUIET=-q shows them.
PIP_QUIET ?= -qq
DEMO_DATA ?= data/demo/cityscapes
DEMO_CONFIG ?= configs/demo/hrnet_w18s_demo_cityscapes.py

.PHONY: install test test-slurm oldest-torch test-oldest-torch demo lint clean
install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	$(if $(TORCH),$(BIN)/python -m pip install $(PIP_QUIET) "$(TORCH)")
ifeq ($(MMCV),full)
	$(BIN)/python -m pip uninstall $(PIP_QUIET) -y mmcv-lite || true
	$(BIN)/python -m pip install $(PIP_QUIET) "setuptools<81" wheel ninja
	MMCV_WITH_OPS=1 MAX_JOBS=$${MAX_JOBS:-2} $(BIN)/python -m pip install $(PIP_QUIET) --no-build-isolation "mmcv==2.1.0"
endif
	$(BIN)/python -m pip install $(PIP_QUIET) -e ".[$(MMCV),dev,deploy]"
	$(BIN)/python -m pip check
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Tests run in parallel, one pytest-xdist worker per core (each gets its share of torch's
# threads, tests/conftest.py); worksteal evens out the few long integration tests.
# PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto
XDIST = -n $(PYTEST_WORKERS) --dist worksteal --durations=15

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -m "not slurm and not gpu" $(XDIST) $(PYTEST_ARGS)

# The cluster is stopped however the tests end (the EXIT trap covers an interrupt), then
# verify-clean fails the target if any process, namespace or link of it is left; pytest's
# exit code is kept.
test-slurm: $(STAMP)
	bash slurm/local_cluster.sh install
	rc=0; trap 'bash slurm/local_cluster.sh stop' EXIT; \
	{ bash slurm/local_cluster.sh start --nodes 2 && \
	  $(BIN)/python -m pytest -m slurm $(PYTEST_ARGS); } || rc=$$?; \
	bash slurm/local_cluster.sh stop && trap - EXIT; \
	bash slurm/local_cluster.sh verify-clean || rc=1; \
	exit $$rc

# The floor of pyproject's torch range, installed for real: PyPI has no CPU-only build of
# it, so this is the CUDA build (about 3 GB with its libraries), run on the CPU.
OLDEST_TORCH ?= torch==2.6.0
OLDEST_VENV ?= .venv-oldest
# oldest-torch: the venv and torch alone (the 3 GB download), which .ci/run overlaps with
# the other installs; test-oldest-torch adds the project and runs the tests.
oldest-torch:
	test -x $(OLDEST_VENV)/bin/python || $(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install $(PIP_QUIET) "$(OLDEST_TORCH)"

test-oldest-torch: oldest-torch
	$(OLDEST_VENV)/bin/python -m pip install $(PIP_QUIET) -e ".[lite,dev,deploy]"
	$(OLDEST_VENV)/bin/python -m pip check
	$(OLDEST_VENV)/bin/python -c "import torch; v = torch.__version__; print('torch', v); assert v.startswith('$(patsubst torch==%,%,$(OLDEST_TORCH))'), v"
	$(OLDEST_VENV)/bin/python -m pytest -m "not slow and not slurm and not gpu" $(XDIST) $(PYTEST_ARGS)

# Train a small HRNet on built-in Cityscapes-format data, on CPU, then evaluate it.
demo: $(STAMP)
	$(BIN)/python tools/make_demo_data.py --dataset cityscapes --out $(DEMO_DATA)
	$(BIN)/python tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo --data-root $(DEMO_DATA)

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

clean:
	rm -rf $(VENV) $(OLDEST_VENV) .pytest_cache .ruff_cache
