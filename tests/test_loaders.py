import pytest

from retrieval.loaders import LoadError, decode_text, load_document, load_sources
from tests.pdfs import cjk_pdf, encrypted_pdf, image_only_pdf


def _load(tmp_path, name, data, sources=None):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return load_document(path, tmp_path, sources or {})


def test_markdown_front_matter_and_template_tags_are_not_content(tmp_path):
    doc = _load(tmp_path, "a.md", "---\ntitle: 课程主题\nnav_order: 3\n---\n# 标题\n\n正文{% if x %}。{{ y }}\n".encode())
    assert doc.title == "课程主题"
    assert "nav_order" not in doc.text and "{%" not in doc.text and "{{" not in doc.text
    assert doc.text.startswith("# 标题")
    assert doc.meta["nav_order"] == 3


def test_title_precedence(tmp_path):
    data = "---\ntitle: front\n---\n# heading\n\ntext\n".encode()
    assert _load(tmp_path, "a.md", data, {"a.md": {"title": "from sources"}}).title == "from sources"
    assert _load(tmp_path, "b.md", data).title == "front"
    assert _load(tmp_path, "c.md", b"# first heading\n\ntext\n").title == "first heading"
    assert _load(tmp_path, "plain-name.txt", b"no heading here").title == "plain-name"


def test_gbk_and_gb18030_text_is_detected(tmp_path):
    text = "第一讲：语言模型是令牌序列上的概率分布。温度参数控制随机性。"
    doc = _load(tmp_path, "gbk.txt", text.encode("gbk"))
    assert doc.text == text
    assert any("gb18030" in n for n in doc.notes)
    assert decode_text(text.encode("gb18030"))[0] == text


def test_japanese_and_traditional_chinese_encodings_are_not_read_as_gb18030(tmp_path):
    """Shift-JIS bytes are valid GB18030 too: read that way, a Japanese file was indexed as rare
    characters (擔杮岅偺...) and reported as fine. Big5 likewise. Simplified Chinese in GBK stays GB18030,
    however short (charset-normalizer alone calls short GBK snippets Big5 or CP949)."""
    ja = "第1講：言語モデルはトークン列上の確率分布です。温度パラメータはランダム性を制御します。"
    doc = _load(tmp_path, "ja.txt", ja.encode("shift_jis"))
    assert doc.text == ja and any("cp932" in n for n in doc.notes)
    tw = "第一講：語言模型是詞序列上的機率分佈。溫度參數控制取樣的隨機性，溫度越高分佈越平坦。"
    doc = _load(tmp_path, "tw.txt", tw.encode("big5"))
    assert doc.text == tw and any("big5" in n for n in doc.notes)
    for short in ("课程", "温度参数", "第一讲：语言模型", "- 作业2：指令微调"):
        assert decode_text(short.encode("gbk")) == (short, "gb18030")
    # a review's cases: rare characters (熵 is one) made short GBK texts read as Big5 / EUC-JIS garbage
    for rare in ("# 交叉熵\nloss = F.cross_entropy(logits, y)\n", "H = -sum(p*log(p))  # 熵\n", "鲲鹏", "饕餮", "# 龃龉\n",
                 "元素：氢氦锂铍硼碳氮氧氟氖钠镁铝硅磷硫氯氩钾钙钪钛钒铬锰铁钴镍铜锌镓锗砷硒溴氪铷锶钇锆铌钼锝钌铑钯银镉铟锡锑碲碘氙铯钡镧铈镨钕"):
        assert decode_text(rare.encode("gbk")) == (rare, "gb18030")
    # refused before: EUC-JP, and short Big5 whose GB18030 reading is no text
    assert decode_text("言語モデルは確率分布です。".encode("euc_jp"))[0] == "言語モデルは確率分布です。"
    assert decode_text("# 第一講\n".encode("big5")) == ("# 第一講\n", "big5")


def test_gb18030_text_with_symbols_and_emoji_is_read(tmp_path):
    """A slide's "□ 不同", "24 ·" or "👉 hw2 due" (GB18030 encodes emoji in four bytes) was refused as
    "undecodable": only CJK, CJK punctuation and ASCII counted as Chinese text."""
    for text in ("□ 不同", "24 ·", "Evaluation\t👉 hw2 out\tPengfei Liu", "α ≤ β → ① ★ 30°×2", "声调：mā má mǎ mà",
                 " fǒ mǘn双胞哈达铺", "注音：ㄅㄆㄇㄈ"):
        assert decode_text(text.encode("gb18030")) == (text, "gb18030")
    with pytest.raises(LoadError, match="byte-order mark"):  # was a UnicodeDecodeError (a review's fuzzing)
        decode_text(b"\xef\xbb\xbf# \xce\xc2\xb6\xc8")
    # still refused: Russian in GB18030 (no Chinese, no symbol of those), Latin-1 text
    for text, encoding in (("Языковая модель — это распределение вероятностей.", "gb18030"), ("Größe, café, déjà vu", "latin-1")):
        with pytest.raises(LoadError):
            decode_text(text.encode(encoding))


def test_utf8_bom_and_utf16(tmp_path):
    assert _load(tmp_path, "bom.md", "\ufeff# 标题\n\n内容".encode("utf-8")).text.startswith("# 标题")
    assert _load(tmp_path, "u16.txt", "语言模型".encode("utf-16")).text == "语言模型"


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.md", b"", "empty file"),
        ("blank.md", b"   \n\n", "empty file"),
        ("only-front.md", b"---\ntitle: x\n---\n", "empty file"),
        ("junk.md", bytes(range(256)) * 40, "binary"),
        ("latin1.txt", "café naïve résumé à la carte déjà vu".encode("latin-1") * 5, "undecodable"),
        ("cut.pdf", cjk_pdf(["第一页"])[:600], "truncated PDF"),
        ("fake.pdf", b"this is not a pdf at all", "not a PDF"),
        ("scan.pdf", image_only_pdf(), "no text layer"),
        ("locked.pdf", encrypted_pdf(cjk_pdf(["机密内容"]), "secret"), "encrypted PDF"),
        ("data.docx", b"PK\x03\x04", "unsupported file type"),
    ],
)
def test_bad_files_raise_a_clear_reason(tmp_path, name, data, reason):
    with pytest.raises(LoadError, match=reason):
        _load(tmp_path, name, data)


def test_pdf_pages_are_kept_with_offsets(tmp_path):
    doc = _load(tmp_path, "slides.pdf", cjk_pdf(["引言\n大语言模型课程", "课程作业\n一共有四个作业"], title="第1讲"))
    assert doc.kind == "pdf" and doc.title == "第1讲"
    assert [p.number for p in doc.pages] == [1, 2]
    assert "四个作业" in doc.text[doc.pages[1].start:doc.pages[1].end]
    assert "四个作业" not in doc.text[doc.pages[0].start:doc.pages[0].end]


def test_pdf_encrypted_with_empty_password_is_opened(tmp_path):
    doc = _load(tmp_path, "open.pdf", encrypted_pdf(cjk_pdf(["公开内容"]), ""))
    assert "公开内容" in doc.text
    assert any("decrypted" in n for n in doc.notes)


def test_sources_yaml(tmp_path):
    (tmp_path / "sources.yaml").write_text("- path: a/b.md\n  title: T\n  language: zh\n", encoding="utf-8")
    assert load_sources(tmp_path) == {"a/b.md": {"title": "T", "language": "zh"}}
    (tmp_path / "sources.yaml").write_text("path: [unclosed", encoding="utf-8")
    with pytest.raises(LoadError, match="sources.yaml"):
        load_sources(tmp_path)
