"""The session replay page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium).

Starts the real app (werkzeug in a thread, 127.0.0.1, ephemeral port) on a temp data directory with a
session built from a synthetic take; opens the page, plays, clicks a flag and checks the playhead moved,
adds a comment and finds it after a reload, and saves a screenshot ($VR_SCREENSHOT_DIR or the test's
temp dir). Skipped only when chromium / chromedriver / selenium or the built waveform assets are absent.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from test_web import make_take, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip("Debian chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from voicerehearse.web import create_app, vendor_assets_present  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app in a werkzeug thread; ``server["plain_url"]`` is a second app without the waveform assets."""
    from werkzeug.serving import make_server

    base = tmp_path_factory.mktemp("browser")
    ids = seed(base / "data", make_take(base / "take"))
    servers = []
    for key, vendor in (("url", vendor_assets_present()), ("plain_url", False)):
        app = create_app({"DATA_DIR": str(base / "data"), "SECRET_KEY": "browser-test", "VENDOR_PRESENT": vendor})
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        ids[key] = f"http://127.0.0.1:{httpd.server_port}"
    yield ids
    for httpd, thread in servers:
        httpd.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                 "--window-size=1400,2200", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=15, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message)


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def log_in(d, base: str, target: str) -> None:
    d.get(base + target)
    assert "/login" in d.current_url
    d.find_element(By.NAME, "username").send_keys("coach")
    d.find_element(By.NAME, "password").send_keys("coach-password")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(d, lambda d: d.current_url.endswith(target), message="redirect after login")


def test_replay_page_without_waveform_assets(server, browser):
    """No npm on the machine: the plain audio player still plays, highlights words and seeks to flags."""
    d = browser
    turn = server["dana_turn"]
    log_in(d, server["plain_url"], f"/sessions/{server['dana_session']}")
    assert d.find_element(By.ID, "vendor-missing").is_displayed()
    wait(d, lambda d: js(d, "return !!(window.vr && window.vr.players[arguments[0]])", turn))
    assert js(d, "return window.vr.players[arguments[0]].ws", turn) is None
    assert d.find_element(By.ID, f"audio-{turn}").get_attribute("controls") is not None
    d.find_element(By.CSS_SELECTOR, f"#turn-{turn} button.play").click()
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn) > 0.3,
         message="playback advances")
    js(d, "window.vr.players[arguments[0]].audio.pause()", turn)
    button = d.find_element(By.CSS_SELECTOR, f"#turn-{turn} ul.flags button.flag-interruption")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    start = float(button.get_attribute("data-seek"))
    wait(d, lambda d: abs(js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn) - start) < 0.05,
         message="flag click seeks the plain player")
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, f"#turn-{turn} .word.current"), message="word highlight")


def test_replay_page_in_chromium(server, browser, tmp_path):
    if not vendor_assets_present():
        pytest.skip("wavesurfer.js is not built into web/static/vendor (run scripts/setup.sh with npm); "
                    "test_replay_page_without_waveform_assets covers the plain player")
    d = browser
    turn = server["dana_turn"]
    d.delete_all_cookies()
    log_in(d, server["url"], f"/sessions/{server['dana_session']}")

    # the waveform is drawn with flag regions and the timeline
    wait(d, lambda d: js(d, "const p = window.vr && window.vr.players[arguments[0]];"
                            "return !!(p && p.ws && p.regions.getRegions().length >= 3)", turn),
         message="waveform with regions")
    flags = js(d, "return window.vr.players[arguments[0]].turn.flags", turn)
    assert {f["kind"] for f in flags} >= {"interruption", "raised_voice"}
    assert js(d, "return document.querySelector('#timeline-' + arguments[0]).innerHTML.length", turn) > 0 or \
        js(d, "return !!document.querySelector('#wave-' + arguments[0]).shadowRoot ||"
              " document.querySelector('#wave-' + arguments[0]).children.length > 0", turn)
    assert d.find_elements(By.CSS_SELECTOR, f"#contour-{turn} svg path"), "loudness/pitch contour drawn"

    # play: time advances and the transcript highlights the word being spoken
    d.find_element(By.CSS_SELECTOR, f"#turn-{turn} button.play").click()
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn) > 0.3,
         message="playback advances")
    js(d, "const a = window.vr.players[arguments[0]].audio; a.pause(); a.currentTime = 3.0;", turn)
    wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, f"#turn-{turn} .word.current"), message="word highlight")
    assert d.find_element(By.CSS_SELECTOR, f"#turn-{turn} .word.current").text in ("down", "you")

    # click a flag: the playhead (media time, wavesurfer time, the contour cursor) moves there
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 0.0;", turn)
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].ws.getCurrentTime()", turn) < 0.05)
    flag = next(f for f in flags if f["kind"] == "interruption")
    cursor_before = js(d, "return document.querySelector('#contour-' + arguments[0] + ' .contour-cursor')"
                          ".getAttribute('x1')", turn)
    button = d.find_element(By.CSS_SELECTOR, f"#turn-{turn} ul.flags button.flag-interruption")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait(d, lambda d: abs(js(d, "return window.vr.players[arguments[0]].ws.getCurrentTime()", turn)
                          - flag["start"]) < 0.05, message="playhead at the flag")
    assert abs(js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn) - flag["start"]) < 0.05
    assert js(d, "return document.querySelector('#contour-' + arguments[0] + ' .contour-cursor')"
                 ".getAttribute('x1')", turn) != cursor_before

    # clicking a region on the waveform seeks too
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 0.0;", turn)
    index = next(i for i, f in enumerate(flags) if f["kind"] == "raised_voice")
    region = js(d, "return window.vr.players[arguments[0]].regions.getRegions()"
                   ".find(r => r.id === arguments[1]).element", turn, f"flag-{turn}-{index}")
    region_start = flags[index]["start"]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", region)
    region.click()
    wait(d, lambda d: abs(js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn)
                          - region_start) < 0.1, message="region click seeks")

    # a coach drags across the waveform: the span fills the comment form
    from selenium.webdriver.common.action_chains import ActionChains

    wave = d.find_element(By.ID, f"wave-{turn}")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", wave)
    width = wave.size["width"]
    drag = ActionChains(d).move_to_element_with_offset(wave, -int(width * 0.15), 0)  # offsets are from the centre
    drag.click_and_hold().move_by_offset(int(width * 0.05), 0).move_by_offset(int(width * 0.05), 0).release().perform()
    form = d.find_element(By.CSS_SELECTOR, f"form.comment-form[data-turn='{turn}']")
    wait(d, lambda d: form.find_element(By.NAME, "end_s").get_attribute("value") != "", message="drag fills span")
    start_s = float(form.find_element(By.NAME, "start_s").get_attribute("value"))
    end_s = float(form.find_element(By.NAME, "end_s").get_attribute("value"))
    duration = js(d, "return window.vr.players[arguments[0]].turn.duration", turn)
    assert 0.3 * duration < start_s < end_s < 0.5 * duration, (start_s, end_s)  # 35 % to 45 %

    # add a comment (with markup that must stay text) and find it on the waveform and after a reload
    text = "Let them finish <b>first</b>"
    for name, value in (("start_s", "2.7"), ("end_s", "3.4")):
        form.find_element(By.NAME, name).clear()
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.NAME, "text").send_keys(text)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda d: text in js(d, "return document.getElementById('comments-' + arguments[0]).textContent", turn),
         message="comment shown")
    assert js(d, "return window.vr.players[arguments[0]].regions.getRegions()"
                 ".some(r => r.id.startsWith('comment-'))", turn)
    d.refresh()
    wait(d, lambda d: js(d, "const p = window.vr && window.vr.players[arguments[0]];"
                            "return !!(p && p.ws && p.regions.getRegions().some(r => r.id.startsWith('comment-')))",
                         turn), message="comment region after reload")
    items = [li.text for li in d.find_elements(By.CSS_SELECTOR, f"#comments-{turn} li")]
    assert any(text in t and "2.70 s–3.40 s" in t for t in items), items
    assert not d.find_elements(By.CSS_SELECTOR, f"#comments-{turn} li b")  # never rendered as markup

    # edit it, then look at the page
    d.find_element(By.CSS_SELECTOR, f"#comments-{turn} button.edit-comment").click()
    edit = d.find_element(By.CSS_SELECTOR, f"#comments-{turn} input.edit-text")
    edit.clear()
    edit.send_keys("Wait until the customer has finished.")
    d.find_element(By.CSS_SELECTOR, f"#comments-{turn} button.save-comment").click()
    wait(d, lambda d: "Wait until the customer" in js(
        d, "return document.getElementById('comments-' + arguments[0]).textContent", turn), message="comment edited")
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 2.75;", turn)
    time.sleep(0.5)
    js(d, "window.scrollTo(0, 0)")
    out = Path(os.environ.get("VR_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shot = out / "session-replay.png"
    d.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(d, "get_log") else []
    assert not errors, errors
