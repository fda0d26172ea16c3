"""Live: the brain's sound for pictures as they arrive (`bitmap2pcm live`).

The chain, each layer bounded so that the sound follows the pictures closely:

- `source`: ffmpeg opens the camera, screen, stream, pipe or file (a file at its own speed)
  and puts its pictures on render's 30 fps grid, flushing every frame down the pipe; a thread
  reads them into a queue of two, the newest replacing the oldest, so it never waits behind
  the brain (a dropped picture is counted and the last one kept stands in for it);
- `lookahead`: the brain's input rows, each given once the frames after it that it needs
  (the brain's own look-ahead, or fewer: the newest frame then stands in for those to come);
- the network and the brain's `Synthesizer` (render's own), one slot of 735 samples a frame;
- `output`: the sound device (PortAudio, a small jitter buffer), a WAV, a pipe, and a
  recording of the pictures with their new sound.

`session` runs it. A file played live gives the very samples `render` gives it.
"""
