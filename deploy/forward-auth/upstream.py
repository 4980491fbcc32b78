#!/usr/bin/env python3
"""A stand-in for an app behind forward-auth (the test command runs it behind nginx): one page
showing the identity headers it received, and whether any Gatehouse cookie reached it.

Usage: upstream.py <port>
"""
import html
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        def shown(name):
            raw = self.headers.get(name)
            # http.server decodes headers as Latin-1; Gatehouse sends UTF-8.
            value = raw.encode("latin-1").decode("utf-8", "replace") if raw is not None else "(none)"
            return html.escape(value)

        cookies = self.headers.get("Cookie") or ""
        names = sorted({c.split("=", 1)[0].strip() for c in cookies.split(";") if "=" in c})
        rows = "".join(
            f"<dt>{name}</dt><dd data-header=\"{name.lower()}\">{shown(name)}</dd>"
            for name in ("Remote-User", "Remote-Email", "Remote-Name", "Remote-Session")
        )
        body = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Protected app</title></head>"
            f"<body><h1>Protected app</h1><p>Path: <code>{html.escape(self.path)}</code></p><dl>{rows}</dl>"
            f"<p>Cookies received: <span data-cookies>{html.escape(', '.join(names)) or '(none)'}</span></p></body></html>"
        ).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("upstream: " + (fmt % args) + "\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
