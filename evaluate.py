#!/usr/bin/env python3
"""evaluate.py: how close a brain's sound is to a video's real sound, beside baselines.

The door of the checkout; the command is bitmap2pcm/commands/evaluate.py (`bitmap2pcm evaluate`).
"""

import sys

from bitmap2pcm.commands import evaluate

if __name__ == "__main__":
    sys.exit(evaluate.COMMAND.main())
