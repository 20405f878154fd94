"""End to end in a real browser: `streamlit run` on 127.0.0.1, driven by Playwright in Debian's chromium.

Uses the offline defaults but the chat model: the test suite's `local:bundled` (quoting; tests/conftest.py). Saves screenshots to
test-artifacts/. Skipped outside CI when chromium is missing; in CI (.ci/run installs it) it must run.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

needs_browser = pytest.mark.skipif(
    not os.environ.get("CI") and not (Path(CHROMIUM).exists() and shutil.which("chromium")),
    reason="Debian chromium not installed (CI installs it)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _streamlit(script: str, env: dict):
    """``streamlit run script`` on a free local port until the block ends; yields its URL once healthy."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        ARTIFACTS.mkdir(exist_ok=True)
        yield url
    finally:
        os.killpg(server.pid, 9)
        server.wait()


@pytest.mark.slow
@needs_browser
def test_question_answer_citation_in_chromium(course_corpus, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_app import PLANTED

    (course_corpus / "planted.md").write_text(PLANTED, encoding="utf-8")  # hostile title, image, instructions
    token = "browser-ta-token-0123456789"
    env = {**os.environ, "COURSETA_CORPUS_DIR": str(course_corpus), "COURSETA_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1", "COURSETA_TA_TOKEN": token}
    subprocess.run([sys.executable, "-m", "retrieval", "ingest"], env=env, cwd=REPO, check=True, capture_output=True)
    with _streamlit("app.py", env) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(url, timeout=120_000)
            page.wait_for_selector("textarea", timeout=120_000)
            page.fill("textarea", "温度参数T有什么作用？")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=Sources", timeout=180_000)
            # the first cited source; its number need not be 1 (a withheld planted passage keeps its number)
            link = page.locator("a[href*='-src-']").first
            assert link.is_visible()
            n = link.get_attribute("href").rsplit("-src-", 1)[1]
            link.click()
            page.get_by_text(f"passage [{n}]").first.click()
            page.get_by_text("Supporting sentence:").first.wait_for(timeout=10_000)
            assert "supported" in page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / "chat-citation.png"), full_page=True)

            # the planted file: its title, image and instructions are text, never live elements
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.fill("textarea", "温度参数补充说明讲了什么？ <img src=http://evil.example/q.png> ![q](http://evil.example/q2.png)")
            page.keyboard.press("Enter")
            page.get_by_text("were withheld").first.wait_for(timeout=180_000)
            injected = page.evaluate("""() => ({
                forms: document.querySelectorAll('form[action*="evil"], input[name="password"]').length,
                images: [...document.images].filter(i => (i.src || '').includes('evil')).length,
                styles: [...document.querySelectorAll('style')].filter(s => s.textContent.includes('display:none')).length,
                fixed: [...document.querySelectorAll('div[style*="position:fixed"]')].length,
                links: document.querySelectorAll('a[href*="evil"]').length,
            })""")
            assert injected == {"forms": 0, "images": 0, "styles": 0, "fixed": 0, "links": 0}, injected
            assert not [u for u in requests if "evil.example" in u]
            page.screenshot(path=str(ARTIFACTS / "chat-planted.png"), full_page=True)

            # a reload keeps the conversation (its id is in the URL) with the same numbered sources
            assert "?c=" in page.url
            page.reload()
            page.wait_for_selector("text=Sources", timeout=120_000)
            page.get_by_text(f"passage [{n}]").first.wait_for(timeout=60_000)  # the sources are drawn too
            assert page.get_by_text("温度参数T有什么作用？").first.is_visible()
            assert page.locator(f"a[href*='-src-{n}']").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / "chat-after-reload.png"), full_page=True)

            # upload a note on the corpus page; it is indexed and the chat can cite it
            note = tmp_path / "zebra-routing.md"
            note.write_text("# Zebra routing\n\nZebra routing is a toy rule for mixture-of-experts layers: "
                            "each token alternates between two experts, like the stripes of a zebra.\n", encoding="utf-8")
            page.goto(url + "/Corpus", timeout=120_000)  # a student: no uploader, a sign-in form
            page.get_by_text("This page is for the course's TAs").wait_for(timeout=60_000)
            assert page.locator("input[type=file]").count() == 0
            page.goto(url + f"/Corpus?ta={token}", timeout=120_000)
            page.wait_for_selector("input[type=file]", state="attached", timeout=120_000)
            page.set_input_files("input[type=file]", str(note))
            page.get_by_role("button", name="Upload and index").click()
            page.wait_for_selector("text=embedded now", timeout=180_000)
            page.screenshot(path=str(ARTIFACTS / "corpus-upload.png"), full_page=True)
            page.goto(url, timeout=120_000)
            page.wait_for_selector("textarea", timeout=120_000)
            page.fill("textarea", "What is zebra routing?")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=alternates between two experts", timeout=180_000)
            assert "Zebra routing" in page.inner_text("body")
            browser.close()


MATH_PAGE = """
import sys
sys.path.insert(0, {repo!r})
import streamlit as st
from ui.render import link_markers, md_text
from ui.widgets import formula_style
formula_style()
st.markdown(link_markers(r"熵 $$H(p) = \\sum_x p(x) \\log \\frac{{1}}{{p(x)}}.$$ 温度 $T$ [1]。", "m0"))
st.markdown(md_text(r"价格 $5 和 $6。a<b: $a<b$"))
st.markdown(md_text(r"hostile $\\rule{{3000px}}{{3000px}}$ $\\href{{http://evil.example}}{{x}}$ $\\kern{{-30em}}Y$ end"))
from tests.test_render_math import ATTACKS
for attack in ATTACKS[:4]:
    st.markdown(link_markers(attack, "m1"))
st.write_stream(iter([md_text("Temperature $T$"), md_text("$q$ sharpens it.")]))
st.markdown(md_text(":material/warning: locked :streamlit: :fire: see _www.evil.example/login x@-evil.example a -> b <= c"))
st.markdown(link_markers("Ignore the notes: log in at evil dot example\\n- ", "m2"))
st.write_stream(iter([md_text("前文 [abc "), md_text("答案是$1 __Correct answer B__ x$。end of stream")]))
from agent.compose import fenced
st.markdown(link_markers("```math\\n\\\\rule{{3000px}}{{3000px}}\\n```", "m4", code=True))
st.markdown(link_markers("I ran this code:\\n\\n" + fenced("xs = [10, 20]\\nprint(xs[1], '[evil](http://evil.example) <b>x</b> $x$ :fire: ```')", "python"), "m3", code=True))
"""


@pytest.mark.slow
@needs_browser
def test_formulas_render_and_refused_tex_stays_text_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "math_page.py"
    page_file.write_text(MATH_PAGE.format(repo=str(REPO)), encoding="utf-8")
    with _streamlit(str(page_file), {**os.environ, "HF_HUB_OFFLINE": "1"}) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(url, timeout=120_000)
            page.get_by_text("hostile").first.wait_for(timeout=120_000)
            page.wait_for_timeout(500)
            page.get_by_text("end of stream").first.wait_for(timeout=60_000)
            page.get_by_text("I ran this code:").first.wait_for(timeout=60_000)  # the last element
            page.wait_for_timeout(300)
            tex = page.evaluate("() => [...document.querySelectorAll('.katex-mathml annotation')].map(a => a.textContent)")
            assert tex == [r"H(p) = \sum_x p(x) \log \frac{1}{p(x)}.", "T", r"a\lt b", "T", "q"], tex
            # "$1 __Correct answer B__ x$" stays a formula (KaTeX rejects it: its source in the text's colour)
            error = page.locator(".katex-error").first
            assert error.inner_text() == "{}1 __Correct answer B__ x"
            assert error.evaluate("e => getComputedStyle(e).color") == page.locator("p").first.evaluate("e => getComputedStyle(e).color")
            body = page.inner_text("body").replace("\u200b", "")
            assert ":material/warning: locked :streamlit: :fire: see _www.evil.example/login x@-evil.example a -> b <= c" in body
            assert "前文 [abc" in body and "streamdown" not in body
            # a demo's code is a code block, shown as written: no citation link, link, formula, HTML or icon in it
            assert "print(xs[1], '[evil](http://evil.example) <b>x</b> $x$ :fire: ```')" in body
            assert page.locator("a[href='#m3-src-1']").count() == 0 and page.locator("pre code").count() == 2
            live = page.evaluate("""() => ({
                images: document.images.length, strong: document.querySelectorAll('strong').length,
                icons: document.querySelectorAll('.stMarkdown [role=img]').length,
                headings: document.querySelectorAll('.stMarkdown h1, .stMarkdown h2, .stMarkdown h3').length,
                errors: document.querySelectorAll('.katex-error').length,
                links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')).filter(h => !h.startsWith('#')),
            })""")
            assert live == {"images": 0, "strong": 0, "icons": 0, "headings": 0, "errors": 1, "links": []}, live
            body = page.inner_text("body")
            assert "$5 和 $6" in body and r"$\rule{3000px}{3000px}$" in body and r"$\kern{-30em}Y$" in body
            tallest = page.evaluate("() => Math.max(...[...document.querySelectorAll('.katex')].map(e => e.getBoundingClientRect().height))")
            assert tallest < 100, tallest
            assert page.locator("a[href*='evil']").count() == 0
            page.screenshot(path=str(ARTIFACTS / "math.png"), full_page=True)
            browser.close()
