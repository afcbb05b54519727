"""The coach's web report (Flask). Installed as ``voicerehearse.web``.

``create_app`` is the only way to get an app: the server, the demo and every test build their own, each on
its own data directory (database + audio).

>>> import tempfile
>>> app = create_app({"TESTING": True, "DATA_DIR": tempfile.mkdtemp()})
>>> app.test_client().get("/health").get_json()
{'status': 'ok'}
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from voicerehearse.labels import REVIEW_STATUSES, STYLES

VENDOR_FILES = ("wavesurfer.min.js", "plugins/regions.min.js", "plugins/timeline.min.js")


def vendor_dir() -> Path:
    """Where scripts/setup.sh copies wavesurfer.js from node_modules (git-ignored)."""
    return Path(__file__).resolve().parent / "static" / "vendor" / "wavesurfer"


def vendor_assets_present() -> bool:
    return all((vendor_dir() / name).is_file() for name in VENDOR_FILES)


def _secret_key(data_dir: Path) -> str:
    """A per-data-directory secret, created once (sessions survive a restart of the server). Two servers
    starting at once agree on one key: it is written whole under a temporary name, then linked into place."""
    path = data_dir / "secret_key"
    if not path.is_file():
        tmp = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails if another process was first: then its key is the key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


class RowIdConverter(IntegerConverter):
    """``<int:...>`` on every route, limited to ids a database can hold: a larger one is a 404 from the router
    (whatever the method), never an overflow in the driver."""

    def to_python(self, value: str) -> int:
        from voicerehearse.store import MAX_ID

        number = super().to_python(value)
        if number > MAX_ID:  # not a ValidationError: that would let werkzeug answer 405 for a sibling method
            raise NotFound(f"No record {value}.")
        return number


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: every caller (server, demo, tests) gets its own app and store."""
    from voicerehearse.settings import load_settings
    from voicerehearse.store import Store, default_data_dir

    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_mapping(
        SETTINGS=None,  # a voicerehearse.settings.Settings; default: loaded once here ($VOICEREHEARSE_CONFIG)
        DATA_DIR=None,  # default: the data_dir setting, else the CLI's data directory
        DATABASE_URL="",  # default: the database_url setting, else SQLite in DATA_DIR
        AUDIO_DIR="",  # default: the audio_dir setting, else DATA_DIR/audio
        MAX_UPLOAD_MB=200,  # imports larger than this are refused with 413
        UPLOAD_EXTENSIONS=(".wav", ".flac", ".ogg", ".mp3"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WAVEFORM_PEAKS=1200,  # points per turn drawn by the waveform
        COMPRESS=True,  # gzip text responses for clients that accept it
        BACKGROUND_IMPORTS=False,  # True: uploads are queued as jobs (voicerehearse serve turns it on)
        EMBEDDED_WORKERS=0,  # job worker threads inside this process (serve: 1; 0 = run `voicerehearse worker`)
    )
    if test_config:
        app.config.update(test_config)
    settings = app.config["SETTINGS"] or load_settings()  # the one load of this edge: views read app.config
    app.config["SETTINGS"] = settings
    data_dir = Path(app.config["DATA_DIR"] or default_data_dir(settings))
    store = Store.open(data_dir, url=app.config["DATABASE_URL"], settings=settings, audio_dir=app.config["AUDIO_DIR"])
    app.config["DATA_DIR"] = str(store.data_dir)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(store.data_dir)
    app.extensions["voicerehearse.store"] = store
    app.config.setdefault("VENDOR_PRESENT", vendor_assets_present())
    if app.config["EMBEDDED_WORKERS"]:
        from voicerehearse import jobs as job_queue

        app.extensions["voicerehearse.jobs"] = job_queue.start_embedded(store, settings,
                                                                         threads=app.config["EMBEDDED_WORKERS"])

    from voicerehearse.web import (assets, auth, comments, compress, csrf, errors, exports, imports, jobs, media,
                                   replay, trainees)

    errors.init_app(app)
    from voicerehearse.report_model import ROUGH_LABEL

    app.jinja_env.globals.update(STYLES=STYLES, REVIEW_STATUSES=REVIEW_STATUSES,  # what templates iterate / say
                                 ROUGH_LABEL=ROUGH_LABEL)
    assets.init_app(app)  # static_url(): content-hashed, cached for a year
    compress.init_app(app)  # gzip for HTML, JSON, JS, CSS when accepted; never audio or Range answers
    auth.init_app(app)  # before CSRF: an anonymous post is a 401, not a token error
    csrf.init_app(app)
    for bp in (auth.bp, trainees.bp, replay.bp, comments.bp, media.bp, exports.bp, imports.bp, jobs.bp):
        app.register_blueprint(bp)
    from voicerehearse.web import review  # the review workflow: status, scorecards, replies
    app.register_blueprint(review.bp)

    @app.after_request
    def security_headers(response):
        # scripts only from this server (the page's data is a JSON block, not a script); wavesurfer sets styles
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app
