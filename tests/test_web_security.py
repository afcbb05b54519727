"""Logins that resist guessing and stolen cookies, and no 500 from odd input: throttling with backoff (429),
the same work for unknown users, cookies revoked by logout / password change, bounded ids, safe ``next=``."""

from __future__ import annotations

import re

import pytest

from test_web import csrf_of, login, seed, take  # noqa: F401 (take: the session-scoped fixture)
from voicerehearse.web import create_app


@pytest.fixture
def app(tmp_path, take, database_url):  # noqa: F811
    """The seeded app, on SQLite and (second variant) on PostgreSQL."""
    ids = seed(tmp_path / "data", take, database_url)
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
                      "SECRET_KEY": "test"})
    app.ids = ids
    return app


@pytest.fixture
def clock(app):
    """A fake clock for both throttles: advance with clock[0] += seconds."""
    now = [1000.0]
    for key in ("account", "address"):
        app.extensions["voicerehearse.login"][key].clock = lambda: now[0]
    return now


@pytest.fixture
def hashes(monkeypatch):
    """Count password-hash checks."""
    import voicerehearse.accounts as accounts

    calls = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, pw: calls.append(h) or real(h, pw))
    return calls


def attempt(client, user, password, next_=None, addr="10.0.0.1"):
    token = csrf_of(client)
    path = "/login" if next_ is None else "/login?" + next_
    return client.post(path, data={"username": user, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr})


# ---------------------------------------------------------------- throttling


def test_failed_logins_for_one_account_back_off_with_429(app, clock, hashes):
    client = app.test_client()
    for _ in range(5):  # the free failures
        assert attempt(client, "coach", "wrong password").status_code == 401
    assert attempt(client, "coach", "wrong password").status_code == 401  # the 6th locks for 1 s
    r = attempt(client, "coach", "coach-password")  # even the right password waits
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and "Too many failed logins" in r.text
    checked = len(hashes)
    assert attempt(client, "coach", "coach-password").status_code == 429
    assert len(hashes) == checked  # a locked account costs no hashing
    clock[0] += 1.0
    assert attempt(client, "coach", "wrong password").status_code == 401  # the 7th locks for 2 s
    assert attempt(client, "coach", "coach-password").headers["Retry-After"] == "2"
    clock[0] += 2.0
    assert attempt(client, "coach", "wrong password").status_code == 401  # the 8th: 4 s
    assert attempt(client, "coach", "coach-password").headers["Retry-After"] == "4"
    assert attempt(client, "sam", "sam-password", addr="10.0.0.2").status_code == 302  # others unaffected
    clock[0] += 4.0
    assert attempt(client, "coach", "coach-password").status_code == 302
    client = app.test_client()
    assert attempt(client, "coach", "wrong password").status_code == 401  # success cleared the count


def test_the_backoff_is_capped(app, clock):
    throttle = app.extensions["voicerehearse.login"]["account"]
    for _ in range(100):
        throttle.failed("user:coach")
    assert throttle.retry_after("user:coach") == app.config["LOGIN_BACKOFF_MAX_S"]
    clock[0] += app.config["LOGIN_FORGET_S"] + 1
    throttle.failed("user:coach")  # long quiet: counting starts again
    assert throttle.retry_after("user:coach") == 0


def test_one_address_guessing_many_accounts_is_throttled(app, clock):
    client = app.test_client()
    for i in range(20):
        assert attempt(client, f"user{i}", "wrong password").status_code == 401
    assert attempt(client, "user20", "wrong password").status_code == 401  # the 21st locks the address
    assert attempt(client, "coach", "coach-password").status_code == 429
    assert attempt(client, "coach", "coach-password", addr="10.9.9.9").status_code == 302


def test_unknown_and_known_users_are_indistinguishable(app, clock, hashes):
    client = app.test_client()
    for user in ("coach", "nobody-here"):
        hashes.clear()
        r = attempt(client, user, "wrong password")
        assert r.status_code == 401 and "Unknown user name or wrong password." in r.text
        assert len(hashes) == 1  # one real hash check either way (a dummy hash for the unknown name)
    for user in ("coach", "nobody-here"):  # and the throttle treats both the same
        for _ in range(5):
            attempt(client, user, "wrong password")
        assert attempt(client, user, "x" * 10).status_code == 429


def test_huge_passwords_are_refused_without_hashing(app, hashes):
    r = attempt(app.test_client(), "coach", "x" * 100_000)
    assert r.status_code == 401 and not hashes


def test_too_many_logins_checked_at_once_get_429(app):
    app.config["LOGIN_CHECK_WAIT_S"] = 0
    checks = app.extensions["voicerehearse.login"]["checks"]
    held = 0
    while checks.acquire(blocking=False):  # every slot busy hashing someone else's password
        held += 1
    try:
        r = attempt(app.test_client(), "coach", "coach-password")
        assert r.status_code == 429 and "busy" in r.text
    finally:
        for _ in range(held):
            checks.release()
    assert held == app.config["LOGIN_CONCURRENT_CHECKS"]
    assert attempt(app.test_client(), "coach", "coach-password").status_code == 302


# ---------------------------------------------------------------- cookies


def _stolen_copy(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_logout_revokes_cookies_taken_before_it(app):
    client = app.test_client()
    token = login(client)
    thief = _stolen_copy(app, client)
    assert thief.get("/").status_code == 200
    other_device = app.test_client()
    login(other_device)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert thief.get("/").status_code == 302 and thief.get("/").location.startswith("/login")
    assert other_device.get("/").status_code == 302  # every session of the user ends
    login(client)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("change", ["passwd", "remove"])
def test_password_change_or_removal_revokes_cookies(app, change):
    from voicerehearse.accounts import remove_user, set_password

    client = app.test_client()
    login(client)
    with app.extensions["voicerehearse.store"].session() as db:
        if change == "passwd":
            set_password(db, "coach", "another-password")
        else:
            remove_user(db, "coach")
        db.commit()
    assert client.get("/").status_code == 302
    assert client.get(f"/api/turns/{app.ids['dana_turn']}/comments").status_code == 401


def test_secure_cookie_option(tmp_path, take):  # noqa: F811
    seed(tmp_path / "data", take)
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t",
                      "SESSION_COOKIE_SECURE": True})
    client = app.test_client()
    r = attempt(client, "coach", "coach-password")
    assert r.status_code == 302 and "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


# ---------------------------------------------------------------- next=


@pytest.mark.parametrize("next_", [
    "next=/x%0d%0aSet-Cookie:%20a=b", "next=/x%0aLocation:%20http://evil.example", "next=http://evil.example/",
    "next=https:evil.example", "next=//evil.example/x", "next=/%5cevil.example", "next=/\\evil.example",
    "next=javascript:alert(1)", "next=%09/x", "next=/x%00y", "next=evil", "next=" + "/a" * 2000,
])
def test_unsafe_next_is_ignored(app, next_):
    r = attempt(app.test_client(), "coach", "coach-password", next_=next_)
    assert r.status_code == 302 and r.location == "/"


@pytest.mark.parametrize("next_, where", [("next=/sessions/1?tab=2", "/sessions/1?tab=2"),
                                          ("next=/trainees/1/progress", "/trainees/1/progress")])
def test_local_next_is_followed(app, next_, where):
    r = attempt(app.test_client(), "coach", "coach-password", next_=next_)
    assert r.status_code == 302 and r.location == where


# ---------------------------------------------------------------- ids


def id_routes(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__ == "RowIdConverter"]
        if ints:
            yield rule, ints


def test_every_id_route_uses_the_bounded_converter(app):
    from werkzeug.routing import IntegerConverter

    routes = list(id_routes(app))
    assert len(routes) >= 10
    for rule in app.url_map.iter_rules():
        for conv in rule._converters.values():
            assert not isinstance(conv, IntegerConverter) or type(conv).__name__ == "RowIdConverter", rule.rule


@pytest.mark.parametrize("bad", [2**31, 2**63, 2**64, 10**40, -1, 0, 2**63 - 1, 2**31 - 1])
def test_ids_out_of_range_are_404_on_every_route(app, bad):
    client = app.test_client()
    token = login(client)
    for rule, names in id_routes(app):
        path = rule.rule
        for name in names:
            path = re.sub(rf"<int:{name}>", str(bad), path)
        path = re.sub(r"<(?:string:)?fmt>", "json", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(path, method=method, headers={"X-CSRF-Token": token}, json={})
            assert r.status_code == 404, (method, path, r.status_code)
