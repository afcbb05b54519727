"""Workers for the store concurrency tests: importable by name, so ``spawn`` processes can run them."""

from __future__ import annotations

import traceback

NAMES = ("Dana", "Sam", "Robin")
RECORD = {"duration_s": 1.0, "delivery": {"label": "assertive"}}


def import_one(data_dir: str, url: str, index: int, source: str, barrier) -> int:
    """Open the store and add one session, all workers starting at the same moment (a fresh store included)."""
    from voicerehearse.sessions import add_session
    from voicerehearse.store import Store

    barrier.wait(timeout=60)
    store = Store.open(data_dir, url=url)
    try:
        return add_session(store, trainee=NAMES[index % len(NAMES)], scenario_id="import",
                           scenario_title=f"Call {index}", source="import", turns=[{"audio": source, "record": RECORD}])
    finally:
        store.engine.dispose()


def process_main(data_dir, url, index, source, barrier, results) -> None:
    try:
        results.put((index, import_one(data_dir, url, index, source, barrier), None))
    except BaseException:  # the parent asserts there were none, and shows this
        results.put((index, None, traceback.format_exc()))
