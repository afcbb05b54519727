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
    # "/login?next=TARGET" ends with TARGET too: the login page must be gone
    wait(d, lambda d: "/login" not in d.current_url and d.current_url.endswith(target), message="redirect after login")


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
    start = float(button.get_attribute("data-play"))  # a little before the flag, and playing
    assert start < float(button.get_attribute("data-seek"))
    wait(d, lambda d: js(d, "const a = window.vr.players[arguments[0]].audio; return !a.paused && a.currentTime >= "
                            "arguments[1] - 0.05 && a.currentTime < arguments[1] + 1.5", turn, start),
         message="flag click plays the plain player from before the flag")
    js(d, "window.vr.players[arguments[0]].audio.pause()", turn)
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 3.0", turn)
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
    assert {f["kind"] for f in flags} >= {"interruption", "ultimatum"}
    assert "raised_voice" not in {f["kind"] for f in flags}  # a whole-reply cue: a badge, not a band
    assert d.find_element(By.CSS_SELECTOR, f"#turn-{turn} .reply-cues .flag-raised_voice").is_displayed()
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

    # click a flag: it plays from a little before it (media time, wavesurfer time, the contour cursor follow)
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 0.0;", turn)
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].ws.getCurrentTime()", turn) < 0.05)
    flag = next(f for f in flags if f["kind"] == "interruption")
    assert 0 <= flag["play"] < flag["start"]
    cursor_before = js(d, "return document.querySelector('#contour-' + arguments[0] + ' .contour-cursor')"
                          ".getAttribute('x1')", turn)
    button = d.find_element(By.CSS_SELECTOR, f"#turn-{turn} ul.flags button.flag-interruption")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait(d, lambda d: js(d, "const p = window.vr.players[arguments[0]]; return !p.audio.paused && "
                            "p.ws.getCurrentTime() >= arguments[1] - 0.05 && p.ws.getCurrentTime() < arguments[2]",
                         turn, flag["play"], flag["start"] + 1.0), message="playing from before the flag")
    js(d, "window.vr.players[arguments[0]].audio.pause()", turn)
    assert js(d, "return document.querySelector('#contour-' + arguments[0] + ' .contour-cursor')"
                 ".getAttribute('x1')", turn) != cursor_before

    # clicking a region on the waveform plays from before it too
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 0.0;", turn)
    index = next(i for i, f in enumerate(flags) if f["kind"] == "ultimatum")
    region = js(d, "return window.vr.players[arguments[0]].regions.getRegions()"
                   ".find(r => r.id === arguments[1]).element", turn, f"flag-{turn}-{index}")
    region_play = flags[index]["play"]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", region)
    region.click()
    wait(d, lambda d: js(d, "const a = window.vr.players[arguments[0]].audio; return !a.paused && "
                            "a.currentTime >= arguments[1] - 0.1 && a.currentTime < arguments[1] + 1.4",
                         turn, region_play), message="region click plays from before it")
    js(d, "window.vr.players[arguments[0]].audio.pause()", turn)
    # no two labels written over each other on the waveform
    boxes = js(d, "return window.vr.players[arguments[0]].regions.getRegions().map(r => r.content)"
                  ".filter(c => c && c.textContent && c.offsetParent).map(c => c.getBoundingClientRect())"
                  ".map(b => [b.left, b.top, b.right, b.bottom])", turn)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)

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


def _pause(d, turn):
    js(d, "window.vr.players[arguments[0]].audio.pause()", turn)
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].audio.paused", turn))


def _now(d, turn) -> float:
    return js(d, "return window.vr.players[arguments[0]].audio.currentTime", turn)


def test_review_in_chromium(server, browser, tmp_path):
    """Top moments play from there, speed, skip silence and the keyboard, a scorecard saved and found after a
    reload, and the page at 390 px without horizontal overflow; screenshots saved."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    d = browser
    turn = server["dana_turn"]
    d.delete_all_cookies()
    log_in(d, server["url"] if vendor_assets_present() else server["plain_url"], f"/sessions/{server['dana_session']}")
    wait(d, lambda d: js(d, "return !!(window.vr && window.vr.players[arguments[0]])", turn))
    out = Path(os.environ.get("VR_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)

    # a top moment plays its turn from a little before it
    link = d.find_elements(By.CSS_SELECTOR, "#top-moments button.moment-play")[1]
    play_from, at = float(link.get_attribute("data-play")), float(link.get_attribute("data-at"))
    assert play_from < at
    link.click()
    wait(d, lambda d: js(d, "const a = window.vr.players[arguments[0]].audio; return !a.paused && "
                            "a.currentTime >= arguments[1] - 0.05 && a.currentTime < arguments[2]",
                         turn, play_from, at + 1.0), message="top moment plays from there")
    _pause(d, turn)

    # speed
    Select(d.find_element(By.CSS_SELECTOR, f"#turn-{turn} select.rate")).select_by_value("1.5")
    assert js(d, "return window.vr.players[arguments[0]].audio.playbackRate", turn) == 1.5
    Select(d.find_element(By.CSS_SELECTOR, f"#turn-{turn} select.rate")).select_by_value("0.75")
    assert js(d, "return window.vr.players[arguments[0]].audio.playbackRate", turn) == 0.75

    # keyboard: j / k between the timed events (played from before each), arrows, space
    flags = sorted(js(d, "return window.vr.players[arguments[0]].turn.flags", turn), key=lambda f: f["start"])
    plays = sorted({f["play"] for f in flags})
    js(d, "window.vr.players[arguments[0]].audio.currentTime = 0", turn)
    body = d.find_element(By.TAG_NAME, "body")
    js(d, "document.activeElement.blur()")
    body.send_keys("j")
    wait(d, lambda d: abs(_now(d, turn) - plays[0]) < 0.05, message="j: first event")
    target = next(f["play"] for f in flags if f["start"] > plays[0] + 1.5 + 0.01)
    body.send_keys("j")
    wait(d, lambda d: abs(_now(d, turn) - target) < 0.05, message="j: next event")
    body.send_keys("k")
    wait(d, lambda d: abs(_now(d, turn) - plays[0]) < 0.05, message="k: back")
    body.send_keys(Keys.ARROW_RIGHT)
    wait(d, lambda d: abs(_now(d, turn) - (plays[0] + 5)) < 0.05, message="right arrow: 5 s on")
    body.send_keys(Keys.ARROW_LEFT)
    wait(d, lambda d: abs(_now(d, turn) - plays[0]) < 0.05, message="left arrow: 5 s back")
    body.send_keys(" ")
    wait(d, lambda d: not js(d, "return window.vr.players[arguments[0]].audio.paused", turn), message="space plays")
    body.send_keys(" ")
    wait(d, lambda d: js(d, "return window.vr.players[arguments[0]].audio.paused", turn), message="space pauses")

    # skip silence: a gap between two stretches of speech is jumped over
    js(d, "window.vr.players[arguments[0]].turn.speech = [[0.3, 1.0], [4.0, 5.0]]", turn)
    d.find_element(By.CSS_SELECTOR, f"#turn-{turn} input.skip-silence").click()
    js(d, "const a = window.vr.players[arguments[0]].audio; a.playbackRate = 1; a.currentTime = 1.3; a.play().catch(() => {})", turn)
    wait(d, lambda d: _now(d, turn) >= 3.8, message="skipped the silence")
    _pause(d, turn)
    d.find_element(By.CSS_SELECTOR, f"#turn-{turn} input.skip-silence").click()

    # the coach fills the scorecard; it is there after the reload
    sc = d.find_element(By.ID, "scorecard")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", sc)
    Select(sc.find_element(By.NAME, "protects-company")).select_by_value("yes")
    Select(sc.find_element(By.NAME, "calm-tone")).select_by_value("4")
    sc.find_element(By.CSS_SELECTOR, "button.save-scorecard").click()
    wait(d, lambda d: d.current_url.endswith("#scorecard"), message="saved")
    d.refresh()
    wait(d, lambda d: d.find_elements(By.ID, "score-chip"))
    sc = d.find_element(By.ID, "scorecard")
    assert Select(sc.find_element(By.NAME, "protects-company")).first_selected_option.get_attribute("value") == "yes"
    assert Select(sc.find_element(By.NAME, "calm-tone")).first_selected_option.get_attribute("value") == "4"
    assert "score" in d.find_element(By.ID, "score-chip").text

    # the coach's own call of the turn: saved, back on the same turn, kept after the reload, and on the verdict page
    call = d.find_element(By.CSS_SELECTOR, f"#turn-{turn} form.coach-call")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", call)
    Select(call.find_element(By.NAME, "label")).select_by_value("passive")
    call.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda d: d.current_url.endswith(f"#turn-{turn}"), message="the call saved")
    d.refresh()
    call = d.find_element(By.CSS_SELECTOR, f"#turn-{turn} form.coach-call")
    assert Select(call.find_element(By.NAME, "label")).first_selected_option.get_attribute("value") == "passive"
    assert "the verdict said" in call.text
    js(d, "window.scrollTo(0, 0)")
    d.save_screenshot(str(out / "session-review.png"))

    # 390 px wide: nothing sticks out sideways (document width == viewport width), log out reachable
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        d.refresh()
        wait(d, lambda d: js(d, "return !!(window.vr && window.vr.players[arguments[0]])", turn))
        time.sleep(0.5)
        assert js(d, "return window.innerWidth") == 390
        widths = js(d, "return [document.documentElement.scrollWidth, document.body.scrollWidth]")
        assert widths == [390, 390], (widths, js(d, "return [...document.querySelectorAll('body *')]"
                                                    ".filter(e => e.getBoundingClientRect().right > 391)"
                                                    ".slice(0, 5).map(e => e.tagName + '.' + e.className)"))
        logout = d.find_element(By.CSS_SELECTOR, "header.top form button")
        assert logout.rect["x"] + logout.rect["width"] <= 390
        d.save_screenshot(str(out / "session-390px.png"))
        assert (out / "session-390px.png").stat().st_size > 5_000
    finally:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(d, "get_log") else []
    assert not errors, errors


def test_session_list_and_the_agents_dispute_in_chromium(server, browser, tmp_path):
    """The coach filters the session list from its form; at 390 px the list scrolls inside its box, not the page;
    the agent disputes their review with a reason and sees it after the reload."""
    from selenium.webdriver.support.ui import Select

    d = browser
    d.delete_all_cookies()
    log_in(d, server["plain_url"], "/sessions")
    # "/login?next=/sessions" ends with "/sessions" too: wait for the list itself
    wait(d, lambda d: "/login" not in d.current_url and d.find_elements(By.CSS_SELECTOR, "tr[data-session]"),
         message="the session list after the login")
    shown = lambda: [r.get_attribute("data-session") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-session]")]
    assert str(server["dana_session"]) in shown() and str(server["sam_session"]) in shown()
    Select(d.find_element(By.NAME, "verdict")).select_by_value(
        d.find_element(By.CSS_SELECTOR, f'tr[data-session="{server["dana_session"]}"] .pill').text)
    d.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait(d, lambda d: "verdict=" in d.current_url, message="the filter is in the URL")
    assert str(server["dana_session"]) in shown()
    d.find_element(By.NAME, "q").send_keys("no such title")
    d.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait(d, lambda d: "q=no+such+title" in d.current_url)
    assert shown() == [] and "No sessions match" in d.find_element(By.TAG_NAME, "main").text
    d.get(server["plain_url"] + "/sessions")
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        d.refresh()
        wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-session]"))
        assert js(d, "return [document.documentElement.scrollWidth, document.body.scrollWidth]") == [390, 390]
        box = js(d, "const b = document.querySelector('.table-scroll'); return [b.clientWidth, b.scrollWidth]")
        assert box[0] <= 390 < box[1]  # the wide table scrolls inside its box
        d.save_screenshot(str(tmp_path / "sessions-390px.png"))
    finally:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # the agent (Dana's own login) disputes the review with a reason
    d.delete_all_cookies()
    target = f"/sessions/{server['dana_session']}"
    d.get(server["plain_url"] + target)
    d.find_element(By.NAME, "username").send_keys("dana")
    d.find_element(By.NAME, "password").send_keys("dana-password")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(d, lambda d: "/login" not in d.current_url and d.find_elements(By.ID, "review"),
         message="the agent's own session")
    review = d.find_element(By.ID, "review")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", review)
    assert not d.find_elements(By.CSS_SELECTOR, "#scorecard select")  # an agent cannot score
    review.find_element(By.NAME, "reason").send_keys("The customer had finished speaking")
    review.find_element(By.CSS_SELECTOR, 'button[value="disputed"]').click()
    status = lambda d: js(d, "const r = document.getElementById('review'); return r ? r.dataset.status : null")
    wait(d, lambda d: status(d) == "disputed", message="disputed")  # one script: never a stale element mid-reload
    d.refresh()
    review = d.find_element(By.ID, "review")
    assert review.get_attribute("data-status") == "disputed"
    assert "The customer had finished speaking" in review.text
    review.find_element(By.CSS_SELECTOR, 'button[value="acknowledged"]').click()
    wait(d, lambda d: status(d) == "acknowledged", message="acknowledged")
    errors = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"] if hasattr(d, "get_log") else []
    assert not errors, errors
