"""The coach's web report (Flask). Installed as ``voicerehearse.web``.

>>> app = create_app({"TESTING": True})
>>> app.test_client().get("/health").get_json()
{'status': 'ok'}
"""

from __future__ import annotations

from flask import Flask, jsonify


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: every caller (server, tests) gets its own app."""
    app = Flask(__name__, instance_relative_config=True)
    if test_config:
        app.config.update(test_config)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app
