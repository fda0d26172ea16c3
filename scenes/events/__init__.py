"""An event benchmark: scenes where what happens on screen causes the sound, with the truth.

Does a model's sound follow the action, or merely the picture's motion or brightness? The
scenes here answer that: objects of a few kinds (a ball, a block, a ring, each drawn its own
way) fall into a room, bounce, slide, hit the floor, the walls and each other, and come to
rest. Every impact plays its kind's *recorded* sound (excerpts committed in
`examples/sounds/`), starting at the exact sample of the impact, at a gain proportional to
the impact's speed (harder hits are louder). Distractors move the picture without any sound:
a slow drift of the background's brightness, a camera pan (the whole scene shifts), an
object that glides through the air touching nothing, and an object lifted silently out of
the room. Between events the picture is still and the sound is exactly zero.

Everything is a pure function of a seed: `plan_scene` runs the physics and writes the score
(`Scene`: what is drawn in every slot, and every impact); `draw_frames` and `mix_sound` turn
it into pictures and sound; `truth` is the JSON record a benchmark scores against. Seeds are
numpy `SeedSequence` entropies `(seed, stream)`, so the training scene and each test scene
come from independent streams: different layouts (room size, floor, walls, colours),
different objects, different events.

Physics, in picture pixels (y grows downwards) and seconds: gravity while in the air, a
constant friction deceleration on the floor, restitution per kind, one-dimensional
collisions (with restitution, masses from the drawn area) between objects on the floor.
Between the simulation's steps (SUBSTEPS_PER_SLOT a slot) contacts are found exactly (the
roots of the motion's quadratic), so an impact's time is exact, not rounded to a step. A
drawn layout that would make an impact too soft to hear, two impacts too close to tell apart
(MIN_IMPACT_GAP_S), an object hitting another in the air, or a wall's top corner, is
redrawn: every impact of the truth is a clear, separate event.

The timeline comes from `grid`: pictures are the state at each slot's start, sound is
`grid.RATE_HZ` mono float32, an impact at sample n lies in slot n // grid.SAMPLES_PER_SLOT.
"""
