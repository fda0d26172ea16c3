#!/usr/bin/env python3
"""theanet.py: train a brain (a deep belief network from frames to PCM) from frames.pkl and audio.pkl.

The door of the checkout; the command is bitmap2pcm/commands/train.py (`bitmap2pcm train`).
"""

import sys

from bitmap2pcm.commands import train

if __name__ == "__main__":
    sys.exit(train.COMMAND.main())
