// What the player tests read from a page, the same for every player: playback events of the
// <video>, errors, and programDate() (the EXT-X-PROGRAM-DATE-TIME of the frame on screen, as
// the page's player maps it; set by each page).
(function () {
  'use strict';
  const probe = {
    playing: false, firstPlaying: 0, waits: [], seeks: [], errors: [], fatal: null,
    programDate: () => null, video: null,
  };
  window.probe = probe;
  probe.error = (what, fatal) => {
    const text = typeof what === 'string' ? what : JSON.stringify(what).slice(0, 400);
    if (probe.errors.length < 50) probe.errors.push({ at: Date.now(), text, fatal: !!fatal });
    if (fatal && !probe.fatal) probe.fatal = text;
  };
  const ranges = (b) => {
    const out = [];
    for (let i = 0; b && i < b.length; ++i) out.push([+b.start(i).toFixed(2), +b.end(i).toFixed(2)]);
    return out;
  };
  probe.watch = (video) => {
    probe.video = video;
    video.addEventListener('playing', () => {
      probe.playing = true;
      if (!probe.firstPlaying) probe.firstPlaying = Date.now();
    });
    video.addEventListener('waiting', () => {
      if (!probe.firstPlaying) return;
      const b = video.buffered;
      const ahead = b.length ? b.end(b.length - 1) - video.currentTime : 0;
      if (probe.waits.length < 100) {
        probe.waits.push({ at: Date.now(), position: video.currentTime, ahead,
                           seeking: video.seeking, ranges: ranges(b) });
      }
    });
    // Every seek, the player's own included: a start-up seek that never happened shows up as
    // a corrective one later (Shaka, a zero-width seek window).
    video.addEventListener('seeking', () => {
      if (probe.seeks.length < 100) {
        probe.seeks.push({ at: Date.now(), position: video.currentTime,
                           seekable: ranges(video.seekable), ranges: ranges(video.buffered) });
      }
    });
    video.addEventListener('error', () => {
      const e = video.error;
      probe.error('video element: ' + (e ? e.code + ' ' + e.message : '?'), true);
    });
  };
  // One sample for the test: position, latency (s; NaN where the player cannot tell yet).
  probe.sample = () => {
    const v = probe.video;
    let latency = NaN;
    try {
      const d = probe.programDate();
      if (d) latency = (Date.now() - d.getTime()) / 1000;
    } catch (e) {}
    const b = v ? v.buffered : null;
    return { at: Date.now(), position: v ? v.currentTime : NaN, paused: v ? v.paused : true,
             latency, ahead: b && b.length ? b.end(b.length - 1) - v.currentTime : 0,
             waits: probe.waits.length, playing: probe.playing, ranges: ranges(b) };
  };
})();
