"""Corpus page: what is indexed, uploads and removals with incremental ingest, and a search playground."""

from __future__ import annotations

import streamlit as st

from common.errors import CourseTAError
from retrieval.ingest import well_formed
from retrieval.search import Retriever
from retrieval.store import REBUILD_HINT, current_index_dir, read_manifest
from retrieval.errors import NotIndexedYet, UploadError
from retrieval.uploads import REMOVED_DIR, UPLOAD_DIR, remove_upload, save_upload, uploaded_sources
from settings import get_settings
from ui.auth import require_ta
from ui.ingest_jobs import JOBS
from ui.render import md_escape, table_safe


@st.cache_resource(show_spinner="Loading the index…")
def playground_retriever(index_dir: str) -> Retriever:
    """Loaded once per index build (the key), not on every keystroke in the query box."""
    return Retriever.load(get_settings().retrieval)


st.title("Corpus")
require_ta(get_settings().app)  # uploads and re-indexing change what every student is answered from
settings = get_settings().retrieval
try:
    manifest = read_manifest(settings.data_dir)
except (OSError, ValueError, CourseTAError):
    manifest = []  # not JSON, or CURRENT unreadable: said below, as for any other shape
if manifest is not None and not well_formed(manifest):
    st.warning(f"The index's manifest cannot be read; {REBUILD_HINT} (an upload does too).")
    manifest = None

if manifest:
    created = manifest.get("created", "")
    st.caption(f"{manifest.get('n_chunks', 0)} chunks · embedder `{manifest.get('embedder')}` · last indexed {created}")
    rows = [{"file": src, "title": meta.get("title"), "kind": meta.get("kind"), "chunks": meta.get("chunks")}
            for src, meta in sorted(manifest.get("files", {}).items())]
    rows += [{"file": src, "title": "", "kind": "skipped", "chunks": 0, "note": meta.get("reason")}
             for src, meta in sorted(manifest.get("skipped", {}).items())]
    st.dataframe(table_safe(rows), width="stretch", hide_index=True)
else:
    st.info("No index yet: upload files or run `python -m retrieval ingest`.")

def clear_notes() -> None:
    """Drop the last action's warnings and removal note (kept on the page across the ingest's reloads)."""
    st.session_state.upload_warnings, st.session_state.removal_note = [], None


def index_now() -> None:
    """Start an ingest in the background (ui/ingest_jobs.py), never in this request; the page follows it."""
    st.session_state.ingest_job = JOBS.start(settings).id


st.subheader("Add material")
uploads = st.file_uploader("Markdown, PDF or text files", type=["md", "markdown", "txt", "pdf"], accept_multiple_files=True)
if uploads and st.button("Upload and index", type="primary"):
    saved = []
    clear_notes()
    for up in uploads:
        try:
            saved.append(save_upload(settings.corpus_dir, up.name, up.getvalue(), settings.max_file_mb, manifest))
        except NotIndexedYet as exc:  # uploaded before, never indexed (that ingest gave up waiting): index it now
            saved.append(exc.path)
            st.session_state.upload_warnings.append(str(exc))
        except UploadError as exc:
            st.session_state.upload_warnings.append(str(exc))  # kept on the page after the indexing reloads it
    if saved:
        index_now()

st.subheader("Remove an upload")
removable = uploaded_sources(settings.corpus_dir)
# a file this TA had chosen that left the list meanwhile (another TA removed it, or it was moved on the
# server): the box forgets the choice, so a click on "Remove" did nothing and said nothing
if (chosen := st.session_state.pop("removal_choice", None)) and chosen not in removable:
    st.warning(md_escape(f"{chosen}: no longer in the corpus (another TA may have removed it, or it was moved "
                         "on the server)"))
if removable:
    gone = st.selectbox("Uploaded file", removable, index=None, placeholder="choose a file uploaded here")
    if gone:
        st.session_state.removal_choice = gone
    # a new box after each removal and for each file chosen: asked again, unticked (ticked for one file, it
    # stayed ticked when the TA chose another, and one click removed that one: a tester's)
    removals = st.session_state.setdefault("removals", 0)
    sure = st.checkbox(f"Take it out of the index (the file is kept in `corpus/{UPLOAD_DIR}/{REMOVED_DIR}/`, "
                       "from where it can be moved back)", key=f"confirm-removal-{removals}-{gone}")
    if st.button("Remove and re-index", disabled=not (gone and sure)):
        clear_notes()
        st.session_state.removals += 1
        st.session_state.pop("removal_choice", None)  # what happens to it is said below
        try:
            remove_upload(settings.corpus_dir, gone)
        except UploadError as exc:  # removed meanwhile by another TA, or the folder changed under it
            st.session_state.upload_warnings.append(str(exc))
        else:
            st.session_state.removal_note = f"{gone}: removed from the corpus; the index drops it when this ingest ends"
            index_now()
else:
    st.caption("Files uploaded here can be removed here; the course's own files are changed in the corpus "
               "folder itself, then `python -m retrieval ingest`.")
# an ingest that failed or gave up waiting for another (after an upload or a removal) is started again here
if st.button("Index the corpus again", disabled=bool(JOBS.running()),
             help="Brings the index up to date with the corpus folder: files added, changed or removed since"):
    clear_notes()
    index_now()


@st.fragment(run_every=1.0)
def ingest_progress() -> None:
    job = JOBS.get(st.session_state.get("ingest_job"))
    if job is None and (running := JOBS.running()):  # started before a reload, or by another TA: followed here
        job = running[0]
        st.session_state.ingest_job = job.id
    if job is None:
        return
    if not job.done:
        st.progress(job.fraction, text=md_escape(job.message, line_breaks=False))
        return
    del st.session_state["ingest_job"]
    st.session_state.removal_note = None  # "drops it when this ingest ends": the report below says what it did
    if job.error:
        st.session_state.last_ingest = {"error": job.error}
    else:
        # the chat loads the new index on its next question by itself (load_agent is keyed by the live
        # index folder); clearing every cache also dropped app.py's answers under way (job_board)
        playground_retriever.clear()
        st.session_state.last_ingest = {"summary": job.report["summary"], "files": job.report["files"]}
    st.rerun(scope="app")  # redraw the document table above from the new index


for warning in st.session_state.get("upload_warnings", []):
    st.warning(md_escape(warning))
if note := st.session_state.get("removal_note"):
    st.info(md_escape(note))
ingest_progress()
last = st.session_state.get("last_ingest")
if last and last.get("error"):
    st.error(md_escape(last["error"]))
elif last:
    st.success(md_escape(last["summary"]))
    st.dataframe(table_safe(last["files"]), width="stretch", hide_index=True)

st.subheader("Search playground")
query = st.text_input("Query", placeholder="什么是语言模型 / cross entropy")
k = st.slider("results", 1, 20, 8)
hits = None
if query and manifest:
    try:
        hits = playground_retriever(str(current_index_dir(settings.data_dir))).search(query, k)
    except CourseTAError as exc:  # a damaged or mismatched index: its sentence says what to run
        st.error(md_escape(str(exc)))
if hits is not None:
    st.dataframe(table_safe([{"fused rank": i, "fused score": round(h.score, 4), "BM25 rank": h.ranks.get("bm25"),
                   "dense rank": h.ranks.get("dense"), "title": h.title, "heading": h.heading, "page": h.page,
                   "text": " ".join(h.text.split())[:160]} for i, h in enumerate(hits, start=1)]),
                 width="stretch", hide_index=True)
