"""A widget that tells the user when the page has lost its server: a stopped ``mtc serve`` otherwise
leaves a live-looking page whose clicks do nothing."""

from __future__ import annotations

import anywidget

NOTICE = "disconnected: the mtc server stopped, so this page no longer works; start `mtc serve` again and reload"


class ConnectionWatch(anywidget.AnyWidget):
    """Shows a ``.mtc-disconnected`` notice across the top of the page while the server does not answer.

    Every 2 s the page asks the server for the first byte of one of the page's own stylesheets (a
    static file: no kernel is involved, so an idle page stays idle); two failures in a row show
    the notice, an answer hides it again.
    """

    _esm = """
    const NOTICE = %s;
    export default {
      render({ el }) {
        const notice = document.createElement("div");
        notice.className = "mtc-disconnected";
        notice.textContent = NOTICE;
        notice.style.cssText = "display:none; position:fixed; top:0; left:0; right:0; z-index:10000; " +
          "padding:10px 16px; background:#c62828; color:white; font-weight:600; text-align:center;";
        el.appendChild(notice);
        const own = [...document.querySelectorAll("link[rel=stylesheet]")].find((l) => l.href.startsWith(location.origin));
        const probe = own ? own.href : location.origin + "/";
        let failures = 0;
        const check = async () => {
          try {
            const answer = await fetch(probe, { cache: "no-store", headers: { Range: "bytes=0-0" } });
            await answer.arrayBuffer();
            failures = answer.status < 500 ? 0 : failures + 1;
          } catch (error) {
            failures += 1;
          }
          notice.style.display = failures >= 2 ? "block" : "none";
        };
        const timer = setInterval(check, 2000);
        return () => clearInterval(timer);
      }
    };
    """ % repr(NOTICE)
