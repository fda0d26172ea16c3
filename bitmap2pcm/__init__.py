"""bitmap2pcm: learn the sound of a video from its pictures.

A rebuild of the 2015 "Deep Learning Bitmaps to PCM" experiment: each 1/30 s slot of a
video pairs one 64x64 gray frame with the 735 PCM samples that play during it, a deep
belief network learns the mapping, and new videos get a sound track from their pictures.
"""

__version__ = "0.1.0"
