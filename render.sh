#!/usr/bin/env bash
# render.sh: give a video the sound tracks a brain imagines for it, as the 2015 render.sh did.
#
# Writes, in the current folder:
#   <brain>-<video>-deeplearn<SUFFIX>.mkv           the brain's sound (raw or smooth)
#   <brain>-<video>-granular-deeplearn<SUFFIX>.mkv  its granular render (Csound, 44.1 kHz)
# and with --webm web copies of both; see ./render.sh --help.
#
# The door of the checkout: the command is `bitmap2pcm render` (bitmap2pcm/commands/render.py,
# the work in bitmap2pcm/render/mkv.py), run here with the checkout's Python from any folder.
set -euo pipefail

REPO=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
if [[ -x "$REPO/.venv/bin/python" ]]; then
    PY="$REPO/.venv/bin/python"
elif command -v python3 >/dev/null 2>&1; then
    PY=python3
else
    echo "render.sh: error: 'python3' not found: install it with 'apt-get install -y python3'" >&2
    exit 1
fi

PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -c '
import sys
from bitmap2pcm.commands import render
sys.exit(render.COMMAND.main())' "$@"
