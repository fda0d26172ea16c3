#!/usr/bin/env python3
"""render.py: give a video the sound a brain imagines for it (out.wav, and a granular score).

The door of the checkout; the command is in bitmap2pcm/commands/render.py (render.sh and
`bitmap2pcm render` make the two MKVs from it).
"""

import sys

from bitmap2pcm.commands import render

if __name__ == "__main__":
    sys.exit(render.SOUND.main())
