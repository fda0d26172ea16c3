# Two commands a newcomer needs:  make demo  and  make test.
# Both install what is missing first (Debian packages, then a .venv with the Python
# packages) and skip the install when everything is already there.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := ffmpeg csound libopenblas-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install debian demo test bench clean

install: debian $(STAMP)

debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,plot]'
	@touch $(STAMP)

# The demo: the three steps of the README on the synthetic example, outputs in out/.
DEMO_VIDEO := examples/synthetic.mkv
demo: install
	@mkdir -p out
	cd out && ../$(PY) ../pickler.py ../$(DEMO_VIDEO)
	cd out && ../$(PY) ../theanet.py --save-every 0
	cd out && ../render.sh --brain theanet.py.net.pkl --mode raw ../$(DEMO_VIDEO) -raw
	cd out && ../render.sh --brain theanet.py.net.pkl --mode smooth ../$(DEMO_VIDEO) -smooth
	@echo; echo "demo videos in out/ (play them with: ffplay FILE, or any player that reads MKV):"
	@ls -1 out/*.mkv

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/pickler
	$(PY) bench/train --full
	$(PY) bench/render
	$(PY) bench/results

clean:
	rm -rf out/ .pytest_cache
