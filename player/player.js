// hlsd player: hls.js where Media Source Extensions exist, the browser's own HLS (Safari on
// iPhone) otherwise, and an overlay with what someone tuning latency needs to see.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const src = params.get('src') || 'live/index.m3u8';
  const video = document.getElementById('video');
  const overlay = document.getElementById('stats');

  // Read by people through the overlay, and by the browser tests through window.hlsdStats.
  const stats = {
    mode: '', latency: NaN, hlsLatency: NaN, buffer: 0, width: 0, height: 0, bitrate: 0,
    stalls: 0, errors: 0, fatalCount: 0, fatal: null, playing: false, targetDuration: NaN,
    fragment: null, discontinuities: 0, config: {},
  };
  window.hlsdStats = stats;

  // Query parameters → hls.js settings, so latency can be tuned without editing the page.
  const knobs = {
    sync: ['liveSyncDurationCount', Number],
    maxlat: ['liveMaxLatencyDurationCount', Number],
    rate: ['maxLiveSyncPlaybackRate', Number],
    buffer: ['maxBufferLength', Number],
    lowlat: ['lowLatencyMode', (v) => v !== '0'],
    debug: ['debug', (v) => v !== '0'],
  };
  for (const [param, [key, parse]] of Object.entries(knobs)) {
    if (params.has(param)) stats.config[key] = parse(params.get(param));
  }

  let playbackStarted = false;
  video.addEventListener('playing', () => { playbackStarted = true; stats.playing = true; });
  video.addEventListener('waiting', () => { if (playbackStarted) stats.stalls++; });

  function play() {
    const p = video.play();
    if (p && p.catch) p.catch(() => {}); // autoplay needs muted; it is
  }

  let hls = null;
  let lastFragment = null;

  function startHlsJs() {
    stats.mode = 'hls.js ' + Hls.version;
    hls = new Hls(stats.config);
    hls.on(Hls.Events.MANIFEST_PARSED, play);
    hls.on(Hls.Events.LEVEL_LOADED, (_, data) => { stats.targetDuration = data.details.targetduration; });
    // The fragment on screen; `cc` (its discontinuity sequence) changes after a source restart.
    hls.on(Hls.Events.FRAG_CHANGED, (_, data) => {
      const f = data.frag;
      if (stats.fragment && f.cc !== stats.fragment.cc) stats.discontinuities++;
      stats.fragment = { sn: f.sn, cc: f.cc, at: Date.now() };
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, data) => {
      const bytes = data.frag.stats.total || data.frag.stats.loaded;
      if (data.frag.duration > 0) stats.bitrate = (bytes * 8) / data.frag.duration;
      lastFragment = data.frag;
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

  setInterval(() => {
    const date = playingDate();
    stats.latency = date ? (Date.now() - date.getTime()) / 1000 : NaN;
    stats.hlsLatency = hls ? hls.latency : NaN;
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
      'stalls    ' + stats.stalls + '  discontinuities ' + stats.discontinuities +
        (stats.fatal ? '   last fatal: ' + stats.fatal : ''),
      'player    ' + stats.mode + '  target ' + fmt(stats.targetDuration, 0, ' s') +
        (settings ? '  ' + settings : ''),
    ].join('\n');
  }, 250);
})();
