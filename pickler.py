#!/usr/bin/env python3
"""pickler.py VIDEO [VIDEO...]: turn videos with sound into training pairs frames.pkl + audio.pkl.

The door of the checkout; the command is bitmap2pcm/commands/pickle.py (`bitmap2pcm pickle`).
"""

import sys

from bitmap2pcm.commands import pickle

if __name__ == "__main__":
    sys.exit(pickle.COMMAND.main())
