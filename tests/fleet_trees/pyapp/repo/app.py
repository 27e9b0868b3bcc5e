"""The app: answers every GET with the greeting from its settings, its own
version and the version of the library pip installed from the wheelhouse."""
import http.server
import json

import brinehello

VERSION = "1"

with open("/etc/brine-app/settings.json") as f:
    SETTINGS = json.load(f)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{SETTINGS['greeting']} (app v{VERSION}, brinehello {brinehello.VERSION})\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


http.server.HTTPServer(("127.0.0.1", SETTINGS["port"]), Handler).serve_forever()
