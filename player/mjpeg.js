// hlsd's MJPEG view (?view=mjpeg): the camera in an <img> fed by live/stream.mjpg, the way
// OctoPrint, Mainsail and Fluidd show it, next to the HLS view and a snapshot download.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const mjpeg = params.get('view') === 'mjpeg';
  const token = params.get('token');
  const withToken = (url) =>
    token ? url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : url;
  document.getElementById('snapshot').href = withToken('live/snapshot.jpg');
  const keep = new URLSearchParams(location.search);
  keep.delete('view');
  const hlsLink = document.getElementById('view-hls');
  hlsLink.href = '?' + keep.toString();
  keep.set('view', 'mjpeg');
  document.getElementById('view-mjpeg').href = '?' + keep.toString();
  (mjpeg ? document.getElementById('view-mjpeg') : hlsLink).classList.add('current');
  if (!mjpeg) return;

  window.hlsdMjpeg = true;  // player.js leaves the page to this view
  const img = document.getElementById('mjpeg');
  const fps = params.get('fps');
  img.src = withToken('live/stream.mjpg' + (fps ? '?fps=' + encodeURIComponent(fps) : ''));
  img.hidden = false;
  document.getElementById('video').hidden = true;
  document.getElementById('help').innerHTML =
    'MJPEG: <code>live/stream.mjpg</code> (also <code>/?action=stream</code>), snapshots ' +
    '<code>live/snapshot.jpg</code> (<code>/?action=snapshot</code>); try <code>?view=mjpeg&amp;fps=5</code>';
  const overlay = document.getElementById('stats');
  setInterval(() => {
    overlay.textContent = 'view      MJPEG ' +
      (img.naturalWidth ? img.naturalWidth + '×' + img.naturalHeight : '(waiting for a picture)');
  }, 500);
})();
