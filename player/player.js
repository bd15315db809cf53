// hlsd player: hls.js where Media Source Extensions exist, the browser's own HLS (Safari on
// iPhone) otherwise, and an overlay with what someone tuning latency needs to see.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  if (window.hlsdMjpeg) return;  // the MJPEG view (mjpeg.js): no HLS on this page
  // ?token=… (hlsd --make-token): this page's requests carry it; the playlists then carry it
  // on every URI themselves.
  const token = params.get('token');
  const src = params.get('src') || 'live/index.m3u8' + (token ? '?token=' + encodeURIComponent(token) : '');
  const video = document.getElementById('video');
  const overlay = document.getElementById('stats');

  // Read by people through the overlay, and by the browser tests through window.hlsdStats.
  const stats = {
    mode: '', latency: NaN, hlsLatency: NaN, buffer: 0, width: 0, height: 0, bitrate: 0,
    stalls: 0, stallsDry: 0, seekWaits: 0, waitLog: [], errors: 0, fatalCount: 0, fatal: null,
    playing: false, targetDuration: NaN,
    fragment: null, discontinuities: 0, config: {},
    // LL-HLS: set from the playlist (EXT-X-PART-INF, EXT-X-SERVER-CONTROL) and from what loaded.
    lowLatency: false, targetLatency: NaN, partTarget: NaN, partHoldBack: NaN,
    canBlockReload: false,
    partsLoaded: 0, segmentsLoaded: 0, lastPart: null,
    catchUp: { seconds: 0, times: 0, behind: NaN },
  };
  window.hlsdStats = stats;

  // Query parameters → hls.js settings, so latency can be tuned without editing the page.
  const knobs = {
    sync: ['liveSyncDurationCount', Number],
    maxlat: ['liveMaxLatencyDurationCount', Number],
    rate: ['maxLiveSyncPlaybackRate', Number],
    stallinc: ['liveSyncOnStallIncrease', Number],
    buffer: ['maxBufferLength', Number],
    lowlat: ['lowLatencyMode', (v) => v !== '0'],
    debug: ['debug', (v) => v !== '0'],
  };
  // Low-latency mode is on unless ?lowlat=0 (hls.js 1.7 defaults to it too, but the page should
  // not depend on that default): it only changes anything when the playlist has parts.
  stats.config.lowLatencyMode = true;
  for (const [param, [key, parse]] of Object.entries(knobs)) {
    if (params.has(param)) stats.config[key] = parse(params.get(param));
  }
  // hls.js settles a few tenths of a second behind PART-HOLD-BACK while it starts, and after a
  // stall, and never catches up at rate 1: its own rate control waits for more than 1 s of
  // buffer, which LL-HLS never has. The page plays a little faster until it is back at
  // liveSyncPosition (a seek would get there at once, but the browser fires `waiting` while it
  // restarts the decoder there). ?catchup=0 leaves the pace to hls.js.
  const catchUp = params.get('catchup') !== '0';
  const CATCH_UP_RATE = 1.2;    // gains 0.2 s a second, too little to notice
  const CATCH_UP_CALM = 1.0;    // s of playing without a `waiting` first (a CI run stalled 0.4 s
                                // after the first frame, just after speeding up: decoders ramp up)
  const CATCH_UP_FROM = 0.1;    // s behind liveSyncPosition worth speeding up for
  const CATCH_UP_TO = 0.03;     // s behind it that count as there
  const CATCH_UP_BUFFER = 0.3;  // s buffered ahead at least while faster (never runs dry)

  let playbackStarted = 0; // Date.now() of the first `playing`
  video.addEventListener('playing', () => {
    if (!playbackStarted) playbackStarted = Date.now();
    stats.playing = true;
  });
  // A stall: playback waits after it started. `waiting` during a seek (hls.js's or the
  // viewer's) is the decoder restarting there: counted apart, and so is one handled within
  // SEEK_SETTLE_MS after `seeked` (a CI run logged two `waiting` events 10 ms after a seek's,
  // with seeking already false and a full buffer). A stall
  // with less than 0.1 s buffered ahead ran out of media (stallsDry: the origin or the network
  // was late); with more, the decoder fell behind (a busy CPU).
  const SEEK_SETTLE_MS = 250;
  let seekedAt = -Infinity;
  let lastWaiting = 0;  // Date.now() of the last `waiting` after the first `playing`
  video.addEventListener('seeked', () => { seekedAt = Date.now(); });
  video.addEventListener('waiting', () => {
    if (!playbackStarted) return;
    lastWaiting = Date.now();
    const b = video.buffered;
    const ahead = b.length ? b.end(b.length - 1) - video.currentTime : 0;
    const inSeek = video.seeking || Date.now() - seekedAt < SEEK_SETTLE_MS;
    if (inSeek) {
      stats.seekWaits++;
    } else {
      stats.stalls++;
      if (ahead < 0.1) stats.stallsDry++;
    }
    // When (s after the first `playing`) and with what buffer ahead, for the tests' diagnostics.
    if (stats.waitLog.length < 20) {
      const ranges = [];
      for (let i = 0; i < b.length; ++i) {
        ranges.push([+b.start(i).toFixed(3), +b.end(i).toFixed(3)]);
      }
      stats.waitLog.push({ at: +((Date.now() - playbackStarted) / 1000).toFixed(2),
                          position: +video.currentTime.toFixed(3), buffer: +ahead.toFixed(3),
                          seeking: video.seeking, inSeek, ranges, readyState: video.readyState });
    }
  });

  function play() {
    const p = video.play();
    if (p && p.catch) p.catch(() => {}); // autoplay needs muted; it is
  }

  let hls = null;

  function startHlsJs() {
    stats.mode = 'hls.js ' + Hls.version;
    hls = new Hls(stats.config);
    hls.on(Hls.Events.MANIFEST_PARSED, play);
    hls.on(Hls.Events.LEVEL_LOADED, (_, data) => {
      const d = data.details;
      stats.targetDuration = d.targetduration;
      stats.partTarget = d.partTarget || NaN;
      stats.partHoldBack = d.partHoldBack || NaN;
      stats.canBlockReload = d.canBlockReload;
      const parts = (d.partList && d.partList.length > 0) || d.partTarget > 0;
      stats.lowLatency = Boolean(hls.config.lowLatencyMode && (parts || d.canBlockReload));
      // hls.js holds back liveSyncOnStallIncrease (1 s) more after every stall it sees, and
      // never less again: with LL-HLS one stall on a busy CPU would double the latency for
      // good. One part target per stall instead (hls.js reads the setting when it needs it),
      // unless ?stallinc= says otherwise.
      if (stats.lowLatency && d.partTarget > 0 && !('liveSyncOnStallIncrease' in stats.config)) {
        hls.config.liveSyncOnStallIncrease = d.partTarget;
      }
    });
    // The fragment on screen; `cc` (its discontinuity sequence) changes after a source restart.
    hls.on(Hls.Events.FRAG_CHANGED, (_, data) => {
      const f = data.frag;
      if (stats.fragment && f.cc !== stats.fragment.cc) stats.discontinuities++;
      stats.fragment = { sn: f.sn, cc: f.cc, at: Date.now() };
    });
    // Fired for every part (data.part set) and every whole segment hls.js loads.
    hls.on(Hls.Events.FRAG_LOADED, (_, data) => {
      const f = data.frag;
      if (f.sn === 'initSegment') return;
      const unit = data.part || f;
      const bytes = unit.stats.total || unit.stats.loaded;
      if (unit.duration > 0) stats.bitrate = (bytes * 8) / unit.duration;
      if (data.part) {
        stats.partsLoaded++;
        stats.lastPart = { sn: f.sn, index: data.part.index, duration: data.part.duration,
                           independent: data.part.independent, at: Date.now() };
      } else {
        stats.segmentsLoaded++;
      }
    });
    hls.on(Hls.Events.ERROR, (_, data) => {
      stats.errors++;
      if (!data.fatal) return;
      stats.fatalCount++;
      stats.fatal = data.type + ': ' + data.details;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        // The origin restarted or the network dropped: start over in a moment.
        hls.destroy();
        setTimeout(startHlsJs, 1000);
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }

  function startNative() {
    stats.mode = 'native HLS';
    video.src = src;
    video.addEventListener('loadedmetadata', play);
    video.addEventListener('error', () => {
      stats.fatalCount++;
      stats.fatal = 'media error ' + (video.error ? video.error.code : '?');
      setTimeout(() => { video.src = src; video.load(); }, 1000);
    });
  }

  const nativeOk = video.canPlayType('application/vnd.apple.mpegurl') !== '';
  if (typeof Hls !== 'undefined' && Hls.isSupported() && params.get('native') !== '1') {
    startHlsJs();
  } else if (nativeOk) {
    startNative();
  } else {
    overlay.textContent = 'This browser plays neither HLS nor Media Source Extensions.';
    return;
  }

  // Wall-clock time of the frame on screen, from EXT-X-PROGRAM-DATE-TIME.
  function playingDate() {
    if (hls) return hls.playingDate;
    if (video.getStartDate) {
      const start = video.getStartDate().getTime();
      if (!isNaN(start)) return new Date(start + video.currentTime * 1000);
    }
    return null;
  }

  function fmt(x, digits, unit) { return Number.isFinite(x) ? x.toFixed(digits) + unit : '–'; }

  // The catch-up (see CATCH_UP_*), only for LL playlists, only near the live point (further
  // back is the viewer's choice) and only with buffer to spare. stats.catchUp: how often it
  // sped up, for how many seconds in all, and how far behind it was the first time.
  let catchUpTick = 0;
  function maybeCatchUp() {
    const now = Date.now();
    const tick = catchUpTick ? (now - catchUpTick) / 1000 : 0;
    catchUpTick = now;
    // hls.js paces itself when ?rate= lets it (maxLiveSyncPlaybackRate > 1).
    if (!hls || !playbackStarted || !stats.lowLatency || !catchUp ||
        hls.config.maxLiveSyncPlaybackRate > 1) return;
    const sync = hls.liveSyncPosition;
    const behind = Number.isFinite(sync) ? sync - video.currentTime : NaN;
    const b = video.buffered;
    const ahead = b.length ? b.end(b.length - 1) - video.currentTime : 0;
    const fast = video.playbackRate > 1;
    if (fast) stats.catchUp.seconds += tick;
    const near = behind < (stats.targetDuration || 1) + (stats.partHoldBack || 0);
    const calm = now - Math.max(playbackStarted, lastWaiting) > CATCH_UP_CALM * 1000;
    const want = near && calm && !video.paused && !video.seeking && ahead > CATCH_UP_BUFFER &&
                 behind > (fast ? CATCH_UP_TO : CATCH_UP_FROM);
    if (want && !fast) {
      if (!stats.catchUp.times++) stats.catchUp.behind = +behind.toFixed(3);
      video.playbackRate = CATCH_UP_RATE;
    } else if (!want && fast) {
      video.playbackRate = 1;
    }
  }

  function partLine() {
    if (!stats.lowLatency) return 'parts     none (standard HLS)';
    const p = stats.lastPart;
    const c = stats.catchUp;
    return 'parts     target ' + fmt(stats.partTarget, 2, ' s') +
      '  hold-back ' + fmt(stats.partHoldBack, 2, ' s') +
      (stats.canBlockReload ? '  blocking reload' : '') + '\n' +
      '          last ' +
        (p ? p.sn + '.' + p.index + ' (' + fmt(p.duration, 3, ' s') + ')' : '–') +
      '  loaded ' + stats.partsLoaded + ' parts, ' + stats.segmentsLoaded + ' segments' +
      '  catch-up ' + (!catchUp ? 'off' : !c.times ? 'none yet'
                       : c.times + '× (' + fmt(c.seconds, 1, ' s') + ' at ×' + CATCH_UP_RATE + ')');
  }

  setInterval(() => {
    maybeCatchUp();
    const date = playingDate();
    stats.latency = date ? (Date.now() - date.getTime()) / 1000 : NaN;
    stats.hlsLatency = hls ? hls.latency : NaN;
    stats.targetLatency = hls && hls.targetLatency !== null ? hls.targetLatency : NaN;
    const b = video.buffered;
    stats.buffer = b.length ? b.end(b.length - 1) - video.currentTime : 0;
    stats.width = video.videoWidth;
    stats.height = video.videoHeight;
    const settings = Object.entries(stats.config).map(([k, v]) => k + '=' + v).join(' ');
    overlay.textContent = [
      'latency   ' + fmt(stats.latency, 2, ' s') + '  (now − PROGRAM-DATE-TIME)',
      'buffer    ' + fmt(stats.buffer, 2, ' s'),
      'video     ' + (stats.width ? stats.width + '×' + stats.height : '–') +
        '  ' + fmt(stats.bitrate / 1000, 0, ' kb/s'),
      'stalls    ' + stats.stalls +
        (stats.stalls ? ' (' + stats.stallsDry + ' buffer empty)' : '') +
        (stats.seekWaits ? '  +' + stats.seekWaits + ' in seeks' : '') +
        '  discontinuities ' + stats.discontinuities +
        (stats.fatal ? '   last fatal: ' + stats.fatal : ''),
      partLine(),
      'player    ' + stats.mode + '  target ' + fmt(stats.targetDuration, 0, ' s') +
        (settings ? '  ' + settings : ''),
    ].join('\n');
  }, 250);
})();
