# Two commands a newcomer needs:  make demo  and  make test  (make test-fast: the quick tier).
# Both install what is missing first (Debian packages, then a .venv with the Python
# packages) and skip the install when everything is already there.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := ffmpeg csound libopenblas-dev
# Only the tests need a browser: they open the listening page in Debian's Chromium. The live
# tests play through a private PulseAudio null sink (pulseaudio, its client tools, libpulse)
# and PortAudio.
TEST_DEBIAN_PACKAGES := chromium pulseaudio pulseaudio-utils libpulse0 libportaudio2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install debian debian-test demo brains test test-fast bench clean

install: debian $(STAMP)

debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

debian-test:
	@$(MAKE) --no-print-directory debian DEBIAN_PACKAGES="$(TEST_DEBIAN_PACKAGES)"

# pip's output goes to a log, shown only when the install fails: even a good editable install
# prints setuptools' notes, which a newcomer would take for something gone wrong.
$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	@echo "installing the Python packages into $(VENV) (pip's output: $(VENV)/install.log)"
	@{ $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q -e '.[test,plot]'; } \
	  > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

# The demo: the shipped brains on the synthetic example, no training: the default brain (its
# sound and the granular render of it), and the original's shallow shape in the faithful PCM
# representation, raw (the 2015 sound) and smooth. Outputs in out/.
DEMO_VIDEO := examples/synthetic.mkv
DEMO_PCM_BRAIN := brains/shallow.pkl
demo: install
	@default=$$($(PY) -c 'from bitmap2pcm.shipped import catalog; print(catalog.DEFAULT)'); \
	for brain in brains/$$default.pkl $(DEMO_PCM_BRAIN); do [ -f "$$brain" ] || { \
	  echo "demo: $$brain is not there: run 'make brains' first (it trains the shipped brains)"; exit 1; }; done; \
	mkdir -p out && cd out && \
	echo "rendering $(DEMO_VIDEO) with the default brain, $$default: its sound, then a granular render of it" && \
	../render.sh -q ../$(DEMO_VIDEO) && \
	echo "rendering it with $(DEMO_PCM_BRAIN), raw and smooth (and the granular render of each)" && \
	../render.sh -q --brain ../$(DEMO_PCM_BRAIN) --mode raw ../$(DEMO_VIDEO) -raw && \
	../render.sh -q --brain ../$(DEMO_PCM_BRAIN) --mode smooth ../$(DEMO_VIDEO) -smooth && \
	echo && echo "demo videos (pictures of $(DEMO_VIDEO), sound from the brains):" && \
	ls -1 $$default-$(notdir $(DEMO_VIDEO))-*.mkv \
	  $(basename $(notdir $(DEMO_PCM_BRAIN)))-$(notdir $(DEMO_VIDEO))-*.mkv | sed 's|^|  out/|' && \
	echo "play one with: ffplay out/FILE  or  mpv out/FILE  (or any player that reads MKV)" && \
	echo && echo "writing the listening page: both brains' sound beside the truth, on the slots they never trained on" && \
	../$(PY) ../evaluate.py -q ../$(DEMO_VIDEO) --brain $$default --brain ../$(DEMO_PCM_BRAIN) --mode raw --mode smooth \
	  --html page > /dev/null && \
	echo "open it in a browser: out/page/index.html"

# Retrain every shipped brain from the examples and rewrite its card (brains/retrain.py).
brains: install
	$(PY) brains/retrain.py

# The whole suite on every core (pytest-xdist); a test file stays on one worker, so the brains
# its fixtures train are trained once. On two cores: about 6 minutes, against 9 one by one.
test: install debian-test
	$(PY) -m pytest -q -n auto --dist loadfile

# The fast tier, for the edit-test loop: every test but those marked slow (they train, render or
# start a process: ffmpeg, csound, Chromium, a script), about a minute on two cores. The same
# by hand:  .venv/bin/python -m pytest -q -m "not slow"
test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) bench/pickler
	$(PY) bench/train --full
	$(PY) bench/render
	$(PY) bench/results

clean:
	rm -rf out/ .pytest_cache
