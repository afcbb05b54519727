"""Tiny structurally complete Vosk model folders and zips, and a local HTTP server: shared by model tests."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from pathlib import Path

FILES = {  # a structurally complete (but untrained) lookahead model
    "am/final.mdl": b"\0B<TransitionModel>",
    "conf/mfcc.conf": b"--use-energy=false\n--sample-frequency=8000\n",
    "conf/model.conf": b"--beam=10.0\n",
    "graph/HCLr.fst": bytes.fromhex("d6fdb27e") + b"fst",
    "graph/Gr.fst": bytes.fromhex("d6fdb27e") + b"fst",
    "graph/phones/word_boundary.int": b"1 nonword\n",
    "ivector/final.ie": b"\0B<IvectorExtractor>",
}


def make_model(folder: Path, files: dict[str, bytes] = FILES) -> Path:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def model_zip(top: str | None = "tiny-model", files: dict[str, bytes] = FILES, extra: dict[str, bytes] = {}) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, data in {**files, **extra}.items():
            zf.writestr(f"{top}/{rel}" if top else rel, data)
    return buf.getvalue()


class Server:
    """A tiny HTTP server on 127.0.0.1 serving byte strings; ``/short/...`` lies about its length and hangs up."""

    def __init__(self, files: dict[str, bytes]):
        files_ = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                short = self.path.startswith("/short/")
                body = files_.get(self.path.removeprefix("/short"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + (1000 if short else 0)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
