"""The 30 fps timeline every file of the project lives on (the README's "File formats").

Slot i covers [i/30, (i+1)/30) seconds. Its picture is the source frame nearest i/30
and its sound is samples [735*i, 735*(i+1)) of the sound track resampled to 22050 Hz mono.
These constants are the contract; nothing else in the package spells the numbers out.
"""

SLOTS_PER_SECOND = 30
RATE_HZ = 22050
SAMPLES_PER_SLOT = RATE_HZ // SLOTS_PER_SECOND  # 735
FRAME_SIDE = 64
PIXELS_PER_FRAME = FRAME_SIDE * FRAME_SIDE  # 4096

assert SAMPLES_PER_SLOT * SLOTS_PER_SECOND == RATE_HZ


def slots_in(seconds: float) -> int:
    """Number of whole-or-partial slots needed to cover `seconds` of media."""
    if seconds <= 0:
        return 0
    return int(-(-round(seconds * SLOTS_PER_SECOND * 1000) // 1000))


def slot_seconds(slot: int) -> float:
    """Start time of `slot`, in seconds."""
    return slot / SLOTS_PER_SECOND


def pcm_to_unit(samples):
    """Map PCM samples in [-1, 1] to the stored [0, 1] convention (silence is 0.5)."""
    return (samples + 1.0) * 0.5


def unit_to_pcm(values):
    """Inverse of `pcm_to_unit`: stored [0, 1] values back to PCM in [-1, 1] (2y - 1)."""
    return values * 2.0 - 1.0
