vcl 4.1;
# A caching LL-HLS edge in front of hlsd with Varnish (Debian's 7.1 or later), behind an nginx
# that gives viewers TLS and HTTP/2 (nginx-varnish-edge.conf). Why Varnish: viewers asking for a
# part or playlist state that is being fetched are woken the moment its headers arrive (nginx
# re-checks every 500 ms), and it sends Age. README, "Serving many viewers".
#
#   cp /usr/share/doc/hlsd/examples/varnish-edge.vcl /etc/varnish/default.vcl
#   systemctl edit varnish   # listen on loopback only: see nginx-varnish-edge.conf
#
# Set hlsd's address below (EDIT), then `systemctl reload varnish`. Everything not changed here
# is Varnish's builtin VCL: requests with Authorization or cookies are passed, the query string
# is part of the cache key (so are _HLS_msn, _HLS_part, _HLS_skip), Accept-Encoding is reduced
# to gzip or nothing (one stored copy, gzip, unzipped for clients without it).

backend hlsd {
    .host = "127.0.0.1";            # EDIT: hlsd's address (listen: in hlsd.yml)
    .port = "8080";                 # EDIT
    .connect_timeout = 2s;
    # hlsd holds a blocking reload up to 3 target durations: this covers TD up to 6 s; for
    # longer segments 3 × TD + 7 s (and nginx's proxy_read_timeout in front above it).
    .first_byte_timeout = 25s;
    .between_bytes_timeout = 10s;
}

acl front {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # nginx in front (on this machine) already named the viewer in X-Forwarded-For; Varnish
    # appended nginx's loopback address after it: drop that hop, so hlsd (trusted_proxies:
    # this edge) takes the viewer's address.
    if (client.ip ~ front && req.http.X-Forwarded-For ~ ",") {
        set req.http.X-Forwarded-For = regsub(req.http.X-Forwarded-For, ",[^,]*$", "");
    }
    # A viewer's credentials in the URL: that answer is theirs alone.
    if (req.url ~ "[?&]token=") {
        return (pass);
    }
    # Media names are never reused: players' cache-busting parameters do not make new copies.
    if (req.url ~ "^/live/[a-z0-9]+-[0-9]+(\.[0-9]+)?\.(ts|m4s|mp4)\?") {
        set req.url = regsub(req.url, "\?.*$", "");
    }
}

sub vcl_backend_response {
    # Varnish's default grace (10 s) would hand out an expired playlist while it fetches a new
    # one; hlsd's playlists live a second. Stale only where the origin allows it.
    if (beresp.http.Cache-Control !~ "stale-while-revalidate") {
        set beresp.grace = 0s;
    }
    # hlsd's errors (a 503 after a stalled camera, a 400, a 404) are no-store. The builtin VCL
    # would remember such a URL as uncacheable for 2 minutes, and every viewer retrying that
    # blocking reload would reach hlsd separately: forget it at once instead, so the next
    # requests for it are coalesced again.
    if (beresp.status >= 400 && beresp.http.Cache-Control ~ "no-store") {
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # Playlists are kept for less than a part. A blocking reload's answer: long enough for
    # everyone who waited for it and for viewers a little late, short enough for Video.js,
    # which asks again for the state it was just given a part later and needs hlsd's newer
    # playlist (a stored answer would hold it at the end of each segment until it expired).
    # A plain reload's: players tuning in start from it, and Shaka Player stays as far behind
    # as it was old (it does not read Age). Viewers later than that reach hlsd, at most once
    # per playlist URL and 0.15 s. Without Video.js (llhls: true) or Shaka viewers, remove
    # this and hlsd's s-maxage applies (6 x TARGETDURATION blocking, 1 s plain).
    if (bereq.url ~ "^/live/[^?]*\.m3u8" && beresp.status == 200) {
        set beresp.ttl = 0.15s;     # EDIT: about 3/4 of part_duration (hlsd.yml; 0.2 s)
    }
}

sub vcl_deliver {
    # For tests and troubleshooting: whether this answer came from the cache.
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
