# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
# Both create the virtualenv, install the project and fetch its assets on first use.
# Air-gapped: MATAKOTA_ASSET_MIRROR=/path/to/mirror make demo
PYTHON ?= python3
VENV ?= .venv
EXTRA ?= cpu
BIN := $(VENV)/bin
# Debian packages the tests and the RTSP simulator need (installed only when missing); the DejaVu fonts draw the
# rendered number plates of the ANPR tests.
APT_PACKAGES := ffmpeg gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
	gstreamer1.0-libav gir1.2-gst-rtsp-server-1.0 python3-gi prometheus \
	chromium chromium-driver fonts-dejavu-core fonts-dejavu-extra

.PHONY: install system-deps assets demo test bench imports clean

$(BIN)/matakota: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRA),dev]"
	touch $@

install: $(BIN)/matakota

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

assets: install
	$(BIN)/matakota assets fetch

demo: assets
	$(BIN)/matakota demo

test: assets system-deps
	$(BIN)/python -m pytest

bench: assets
	$(BIN)/python -m loadtest.capacity --out reports

imports: install
	$(BIN)/python -m tests.architecture

clean:
	rm -rf $(VENV) build *.egg-info
