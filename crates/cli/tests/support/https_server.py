# A directory served over HTTPS on 127.0.0.1 (a free port, printed first), every request's
# path appended to LOG: the image server of the download tests and of bench/. /to-http/PATH
# answers with a redirect to http://.../PATH.
# Usage: python3 https_server.py ROOT CERT KEY LOG
import http.server, ssl, sys
root, cert, key, log = sys.argv[1:5]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)
    def do_GET(self):
        # /to-http/PATH: a redirect to plain http, which a client must not follow.
        if self.path.startswith("/to-http/"):
            self.send_response(302)
            port = self.server.server_address[1]
            self.send_header("Location", f"http://127.0.0.1:{port}/{self.path[9:]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()
    def log_message(self, fmt, *args):
        with open(log, "a") as f:
            f.write(self.path + "\n")
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
