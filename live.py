#!/usr/bin/env python3
"""live.py: a camera, the screen, a stream or a file -> the brain's sound, as it happens.

The door of the checkout; the command is bitmap2pcm/commands/live.py (`bitmap2pcm live`).
"""

import sys

from bitmap2pcm.commands import live

if __name__ == "__main__":
    sys.exit(live.COMMAND.main())
