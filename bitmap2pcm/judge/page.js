"use strict";
const boxes = [];
const SETTLE_MS = 300;  // a sound just started or moved reports its time late: not drift yet
let current = null;
let lead = 0;  // s: how far ahead of the picture a sound starts, so that it plays in time

function setUp(box) {
  const picture = box.querySelector("video.picture");
  const sounds = Array.from(box.querySelectorAll("audio"));
  const radios = Array.from(box.querySelectorAll(".tracks input"));
  const plots = Array.from(box.querySelectorAll(".plots a"));
  const clock = box.querySelector(".clock");
  const ranges = JSON.parse(box.dataset.ranges);
  const volume = box.querySelector(".volume input");
  const table = box.closest(".set").querySelector("table.metrics");
  let active = null;
  let settled = 0;

  function videoTime(t) {  // the player's time on the video's own clock
    let start = 0;
    for (const [a, b] of ranges) {
      if (t < start + (b - a)) return a + (t - start);
      start += b - a;
    }
    return ranges.length ? ranges[ranges.length - 1][1] : t;
  }

  function start(sound) {  // a sound put where the picture will be once it has started
    sound.currentTime = Math.max(0, picture.currentTime + (picture.paused ? 0 : lead));
    settled = performance.now() + SETTLE_MS;
    if (!picture.paused && sound.paused)
      sound.play().catch(error => console.warn("the sound did not start:", error.message));
  }

  function follow(event) {  // the chosen track where the picture is, playing or not as it is
    clock.textContent = videoTime(picture.currentTime).toFixed(2);
    if (!active) return;
    if (active.playbackRate !== picture.playbackRate) active.playbackRate = picture.playbackRate;
    if (picture.paused || picture.ended) {
      if (!active.paused) active.pause();
      if (Math.abs(active.currentTime - picture.currentTime) > 0.001)
        active.currentTime = picture.currentTime;
      return;
    }
    if (active.paused || (event && event.type === "seeking")) { start(active); return; }
    const late = picture.currentTime - active.currentTime;
    if (Math.abs(late) > DRIFT_S && performance.now() > settled) {
      // What the sound lags by after a start is its start-up delay: start the next one that
      // much ahead (learnt for the whole page, as every player shares the audio output).
      lead = Math.min(0.5, Math.max(0, lead + late));
      start(active);
    }
  }

  function choose(row) {
    const next = sounds.find(s => s.dataset.row === String(row));
    if (!next) return;
    for (const sound of sounds) if (sound !== next && !sound.paused) sound.pause();
    active = next;
    start(active);
    for (const radio of radios) radio.checked = radio.value === String(row);
    for (const plot of plots) plot.hidden = plot.dataset.row !== String(row);
    if (table)
      for (const tr of table.tBodies[0].rows) tr.classList.toggle("chosen", tr.dataset.row === String(row));
    follow();
  }

  for (const sound of sounds)  // a sound loaded anew (see `seekable`) is put back in place
    sound.addEventListener("loadedmetadata", () => { if (sound === active) follow(); });
  for (const radio of radios) radio.addEventListener("change", () => { current = api; choose(radio.value); });
  for (const event of ["play", "playing", "pause", "seeking", "seeked", "ratechange", "ended",
                       "timeupdate", "waiting"])
    picture.addEventListener(event, follow);
  picture.addEventListener("play", () => {
    current = api;
    for (const other of boxes) if (other !== api) other.picture.pause();
  });
  box.addEventListener("pointerdown", () => { current = api; });
  volume.addEventListener("input", () => {
    for (const sound of sounds) sound.volume = Number(volume.value);
  });
  const api = { box, picture, sounds, choose, radios };
  boxes.push(api);
  const checked = radios.find(r => r.checked) || radios[0];
  choose(checked.value);
}

// A server that ignores byte ranges (Python's http.server) makes media unseekable in
// Chromium: a track could only play from its start. Such a file is fetched whole and played
// from memory instead; file:// and servers that answer ranges keep the files' own URLs.
async function seekable(element) {
  if (!/^https?:$/.test(location.protocol)) return;
  try {
    // no-store: the cache would answer a range from a whole file it holds, server or not
    const response = await fetch(element.src, {headers: {Range: "bytes=0-0"}, cache: "no-store"});
    if (response.status === 206 || !response.ok) {
      if (response.body) response.body.cancel();
      return;
    }
    const blob = await response.blob();
    if (element.tagName === "VIDEO") {  // the picture goes on from where it was
      const at = element.currentTime, playing = !element.paused;
      element.addEventListener("loadedmetadata", () => {
        element.currentTime = at;
        if (playing) element.play().catch(() => {});
      }, {once: true});
    }
    element.src = URL.createObjectURL(blob);
  } catch (error) {
    console.warn("could not check", element.src, error.message);
  }
}

document.querySelectorAll("article.video").forEach(setUp);
current = boxes[0] || null;
Promise.all(Array.from(document.querySelectorAll("video, audio"), seekable))
  .then(() => { document.documentElement.dataset.media = "ready"; });

// A metric row chooses that track in every player of its set.
document.querySelectorAll("table.metrics tbody tr").forEach(tr => tr.addEventListener("click", () => {
  const set = tr.closest(".set");
  for (const api of boxes) if (api.box.closest(".set") === set) api.choose(tr.dataset.row);
}));

// Keys 1-9 choose the n-th track of the player last used.
document.addEventListener("keydown", event => {
  if (!current || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.matches && event.target.matches("input[type=range]")) return;
  const n = Number(event.key);
  if (Number.isInteger(n) && n >= 1 && n <= current.radios.length) {
    current.choose(current.radios[n - 1].value);
    event.preventDefault();
  }
});
