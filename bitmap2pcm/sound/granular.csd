<CsoundSynthesizer>
; Granular render of a bitmap2pcm sound track (the 2015 grain.orc, docs/original.md).
;
; Run it in the folder that holds the rendered sound as out.wav and its score as grain.sco
; (render.sh does this in a temporary folder):
;     python render.py VIDEO -o out.wav --score grain.sco
;     csound -o granular.wav granular.csd
; The score (bitmap2pcm/sound/granular.py) places the grains and chooses how each one reads the
; sound table, through p5 (first sample read) and p6 (speed in samples of out.wav per second):
;   faithful  the original's reading: each grain starts at its block's place in the table and
;             moves through it at a fixed 0.5 table passes per second, so a 60 s sound plays
;             30 times too fast (high pitched, and faster for longer videos) and late grains
;             play their block's sound late.
;   ontime    every grain plays the sound at natural speed (22050 samples per second) from its
;             own moment.
; The default is ontime (render.py --reading, render.sh): the point of the project is a sound
; that follows the picture, and only the on-time reading keeps what the grains play in sync
; with the frames that made it, at the brain's own pitch and whatever the video's length.
; The faithful reading stays available to reproduce the 2015 renders.
<CsOptions>
-d -m0 --nodisplays --sample-accurate
</CsOptions>
<CsInstruments>
sr      = 44100
ksmps   = 16
nchnls  = 1
0dbfs   = 4     ; the original's headroom: grains overlap, and their gains add up

; Grain envelope: Bartlett (triangle) window, GEN20 type 3, peak 1.
giwindow ftgen 1, 0, 1024, 20, 3, 1
; The rendered sound, its own length (deferred size), normalised to a peak of 1 as the
; original's positive GEN01 did; channel 1.
gisound  ftgen 101, 0, 0, 1, "out.wav", 0, 0, 1

instr grain
  ; p2 start, p3 duration (s); p4 peak gain in 0dbfs units (the original's amplitude, which
  ; it applied to both window and oscillator, squared); p5 first sample of out.wav read;
  ; p6 reading speed in samples of out.wav per second.
  ilength = ftlen(gisound)
  aenv    oscili p4, 1/p3, giwindow
  asound  poscil 1, p6/ilength, gisound, p5/ilength
          out aenv*asound
endin
</CsInstruments>
<CsScore>
#include "grain.sco"
</CsScore>
</CsoundSynthesizer>
