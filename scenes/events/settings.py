"""What the benchmark's scenes are made of: sizes, speeds, timings and the agenda every scene follows."""

from __future__ import annotations

FORMAT = "bitmap2pcm-events"
FORMAT_VERSION = 1
SIDE_PX = 128  # pictures are SIDE_PX square; pickler shrinks them to grid.FRAME_SIDE
KINDS = ("ball", "block", "ring")
SOUND_FILES = {kind: f"{kind}.flac" for kind in KINDS}  # in the recordings folder
LONGEST_SOUND_S = 0.3  # no recording is longer: the planner leaves this much for a sound's tail
SOUND_LEVEL = 0.5  # a strength-1 impact plays its recording (peak 0.9) at this gain

SUBSTEPS_PER_SLOT = 20  # physics steps per slot; contacts between steps are found exactly
GRAVITY_PX_S2 = 700.0
FULL_SPEED_PX_S = 500.0  # an impact at this speed or faster has strength 1
MIN_STRENGTH = 0.12  # softer contacts would be barely audible: a layout making one is redrawn
MIN_IMPACT_GAP_S = 0.15  # any two impacts at least this far apart (4.5 slots), so each is an onset
RESTITUTION = {"ball": 0.7, "block": 0.25, "ring": 0.5}
FRICTION_PX_S2 = {"ball": 100.0, "block": 300.0, "ring": 150.0}  # deceleration on the floor
DENSITY = {"ball": 1.0, "block": 1.0, "ring": 3.0}  # mass = density * drawn area
SIZE_PX = {"ball": (5.0, 8.0), "block": (5.0, 7.0), "ring": (6.5, 9.0)}  # radius or half side
RING_WIDTH_PX = 2.5
STRIPE_WIDTH, STRIPE_SHADE = 1 / 3, 0.7  # the floor's stripes: a third of each period, darker
OBJECT_GRAY = {"ball": 235.0, "block": 200.0, "ring": 245.0}
BLOCK_CORE_GRAY = 120.0  # the block's inner square, half its side
REST_GAP_PX = 2.0  # objects at rest keep this far from each other and from the walls
INITIAL_OBJECTS = 1  # at rest in the room when a scene starts
MAX_OBJECTS = 3  # in the room at once; a drop into a full room first lifts one out ...
FULL_ROOM_PUSH = 0.7  # ... or, this often (not in the agenda), becomes a push
ACT_MAX_S = 5.0  # a drop or push that has not come to rest by then is redrawn
MAX_TRIES = 100  # draws of an act's parameters before the planner does something else

DROP_ABOVE_PX = (0.0, 50.0)  # objects enter from above the picture, this far above its top
DROP_SPEED_PX_S = 40.0  # horizontal speed of a drop, at most
PUSH_SPEED_PX_S = (150.0, 420.0)
PUSH_AT_OBJECT = 0.7  # this often a push aims at another object (when there is one to aim at)
PUSH_RUN_S = 0.1  # a pushed object moves at least this long before its first impact
LIFT_S = (0.8, 1.2)
GLIDE_S = (1.2, 2.0)
PAN_S = (1.0, 1.5)
PAN_MAX_PX = 14.0  # the camera moves at most this far from the start, and both walls stay in view
PAN_MIN_PX = 6.0  # a pan moves at least this far
DRIFT_S = (1.5, 2.5)
BACKGROUND_GRAY = (20.0, 90.0)
DRIFT_MIN_GRAY = 20.0  # a drift changes the background by at least this much
PAUSE_S = (0.3, 0.6)  # still and silent time between two things happening
START_PAUSE_S = 0.5
END_PAUSE_S = 0.5  # at least this much still silence closes every scene

# what each scene does first, acts and distractors in turn (each list shuffled), so that even a
# short scene has every kind of event, and every kind of object falls
AGENDA_ACTS = ("drop", "drop", "drop", "push")
AGENDA_DISTRACTORS = ("drift", "pan", "glide", "lift")
# then each next thing is drawn with these weights
WEIGHTS = {"drop": 0.35, "push": 0.35, "drift": 0.08, "pan": 0.08, "glide": 0.08, "lift": 0.06}
ACTS = ("drop", "push")  # what makes sounds
DISTRACTORS = ("drift", "pan", "glide", "lift")  # what moves the picture and makes none
SHORTEST_EVENT_S = 1.0  # the planner stops when less time than this (and END_PAUSE_S) is left ...
MAX_FAILURES = 20  # ... or when this many things in a row could not be done

assert set(WEIGHTS) == set(ACTS) | set(DISTRACTORS)
# a collision of two objects plays two recordings (peak 0.9 each): at full strength they still
# fit the grid's [-1, 1] without clipping
assert 2 * SOUND_LEVEL * 0.9 <= 1.0
