"""Sound representations a brain can predict and how each becomes a waveform: PCM blocks and
their joins (join), STFT magnitudes (spectral), overlap-add frames (overlap, framing), granular scores."""
