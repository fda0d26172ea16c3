"""Media in and out: probing videos and streaming their frames onto the grid (video), and
decoding sound tracks onto it and writing WAV files (audio)."""
