"""Check the static pages in a real browser (headless Chromium, driven by Playwright).

  check_pages.py report REPORT_DIR [--screenshot PNG]
      opens index.html from disk; every <audio> must load and decode, every <img> must load; the
      per-utterance table must sort when a heading is clicked.
  check_pages.py listening TEST_DIR --out DIR [--listeners N] [--screenshot PNG]
      a scripted listener fills each page (MUSHRA sliders or AB choices) and downloads its answers
      CSV into DIR through the page's own button; then `vawgan listening-results` aggregates them.
      The scripted listener reads the key to rate each system near a fixed score (hidden reference
      95, anchor 20, the others 40 + 15·rank, ± 5), so the aggregate must recover those scores.

Needs `pip install playwright` (the Python package only: it drives the system's Chromium,
/usr/bin/chromium or $CHROMIUM, and downloads no browser). docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])


def check_report(report: Path, screenshot: Path | None = None) -> dict:
    """Load every audio and image of a report page from disk; returns counts and failures."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto((report / "index.html").resolve().as_uri())
        audio = page.evaluate("""async () => Promise.all(Array.from(document.querySelectorAll('audio')).map(a =>
            new Promise(done => {
              a.addEventListener('canplaythrough', () => done({src: a.src, ok: true, duration: a.duration}), {once: true});
              a.addEventListener('error', () => done({src: a.src, ok: false, error: a.error && a.error.code}), {once: true});
              a.preload = 'auto'; a.load();
            })))""")
        images = page.evaluate("""async () => Promise.all(Array.from(document.images).map(i =>
            i.complete ? {src: i.src, ok: i.naturalWidth > 0} : new Promise(done => {
              i.addEventListener('load', () => done({src: i.src, ok: i.naturalWidth > 0}), {once: true});
              i.addEventListener('error', () => done({src: i.src, ok: false}), {once: true}); i.loading = 'eager'; })))""")
        sorted_ok = True
        if page.locator("#per-utterance").count():
            head = page.locator("#per-utterance thead th").nth(2)  # MCD
            head.click()
            values = page.eval_on_selector_all("#per-utterance tbody tr", "rows => rows.map(r => parseFloat(r.cells[2].dataset.v))")
            sorted_ok = values == sorted(values)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return {"audio": len(audio), "audio_failed": [a for a in audio if not a["ok"]],
            "images": len(images), "images_failed": [i for i in images if not i["ok"]], "sorts": sorted_ok}


def _scores(key: dict) -> dict[str, float]:
    others = [s for s in key["systems"] if s != key.get("anchor")]
    target = {"reference": 95.0} | {s: 40.0 + 15.0 * k for k, s in enumerate(others)}
    if key.get("anchor"):
        target[key["anchor"]] = 20.0
    return target


def fill_listening_test(test: Path, key_file: Path, out: Path, listeners: int, screenshot: Path | None = None) -> list[Path]:
    """A scripted listener per page: answers every trial and downloads the CSV with the page's button."""
    import numpy as np
    from playwright.sync_api import sync_playwright

    key = json.loads(key_file.read_text())
    target = _scores(key)
    rng = np.random.default_rng(0)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    with sync_playwright() as p:
        browser = _browser(p)
        for k in range(1, listeners + 1):
            page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
            page.goto((test / f"listener-{k:02d}.html").resolve().as_uri())
            if key["kind"] == "mushra":
                sliders = page.locator("input.score")
                for i in range(sliders.count()):
                    s = sliders.nth(i)
                    system = key["stimuli"][s.get_attribute("data-stimulus")]["system"]
                    s.fill(str(int(np.clip(target[system] + rng.integers(-5, 6), 0, 100))))
            else:
                for box in page.locator("section.trial").all():
                    a = box.locator("audio").nth(0).get_attribute("src").split("/")[-1][:-4]
                    first = key["stimuli"][a]["system"] == key["systems"][0]
                    box.locator(f"input[value={'A' if first else 'B'}]").check()
            if screenshot is not None and k == 1:
                page.screenshot(path=str(screenshot), full_page=False)
            with page.expect_download() as dl:
                page.click("#download")
            path = out / dl.value.suggested_filename
            dl.value.save_as(path)
            files.append(path)
            page.close()
        browser.close()
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("report")
    r.add_argument("folder", type=Path)
    r.add_argument("--screenshot", type=Path)
    t = sub.add_parser("listening")
    t.add_argument("folder", type=Path)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--listeners", type=int, default=3)
    t.add_argument("--screenshot", type=Path)
    args = ap.parse_args()
    if args.what == "report":
        res = check_report(args.folder, args.screenshot)
        print(f"{res['audio']} audio players, {len(res['audio_failed'])} failed; {res['images']} images, "
              f"{len(res['images_failed'])} failed; per-utterance table sorts: {res['sorts']}")
        for f in res["audio_failed"] + res["images_failed"]:
            print("failed:", f)
        return 0 if not res["audio_failed"] and not res["images_failed"] and res["sorts"] else 1
    from vawgan_tts.listening_test import key_path

    key = key_path(args.folder)
    files = fill_listening_test(args.folder, key, args.out, args.listeners, args.screenshot)
    print(f"{len(files)} answer files downloaded into {args.out}")
    vawgan = Path(sys.executable).with_name("vawgan")
    return subprocess.call([str(vawgan), "listening-results", *map(str, files), "--key", str(key),
                            "-o", str(args.out / "scores.json")])


if __name__ == "__main__":
    sys.exit(main())
