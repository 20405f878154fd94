"""Deterministic decisions: which tool a question needs, homework requests, follow-up rewriting.

>>> route("请运行这段代码 ```print(1)```"), route("第3周读什么？"), route("什么是熵？")
('run_python', 'list_readings', 'search_course')
>>> route("画心形图的代码是怎么写的？"), route("How is the heart-plot code written?"), route("运行画心形图的代码")
('show_code', 'show_code', 'run_python')
>>> is_homework_request("Write my Build Your Own LLaMa homework for me")
True
>>> standalone_query("那1951年呢？", ["香农在1948年提出了什么？"])
'香农在1948年提出了什么？ 那1951年呢？'
>>> small_talk("Hi there!"), small_talk("谢谢！"), small_talk("Hi, what is entropy?"), small_talk("okay?")
('greeting', 'thanks', None, None)
"""

from __future__ import annotations

import bisect
import re

from agent.python_names import annotation_only, holds_code, prints_something, self_contained
from common.text import tokenize

# languages other than Python a fence may be tagged with: not run as Python (```js's "js" ran as its first
# line, a NameError); see other_language
_OTHER_TAGS = (r"js|javascript|ts|typescript|java|c|cpp|c\+\+|cs|csharp|go|rust|rs|ruby|rb|php|bash|sh|shell|zsh"
               r"|console|powershell|ps1|bat|cmd|sql|r|matlab|julia|kotlin|swift|scala|perl|lua|html|css|json|yaml|yml"
               r"|toml|xml|dockerfile|makefile")
# a copied interactive session is fenced ```pycon (agent.pasted_code.repl_program reads it)
CODE_BLOCK = re.compile(rf"```(?![ \t]*(?:{_OTHER_TAGS})[ \t]*\n)(?:pycon|python3|python|py)?\s*\n?(.*?)```", re.S | re.I)
# "training run" is no request to run anything; 刻画 characterises, 画像 / 漫画 / 动画 / 笔画 are nouns
_CODE_WORDS = re.compile(r"\b(?<!training )(run|re-?run|execute|plot|draw|demo|simulate)\b|运行|执行|(?<![刻描漫动笔])画(?!像)|演示|绘制"
                         r"|跑一下|跑一遍|跑一次|再跑|重新跑", re.I)
# words that ask for a run only of code the message brings ("跑跑看", "直接跑", "帮忙跑下", "Try running it",
# "test this for me", "pls exec this", "这个会输出啥？", "What does this print?"; two reviews' run requests that
# ran nothing): without code of the student's own, "a test set" or "try to run a 7B model" ask for no demo of
# the notes. Asked, not told: not after 我 / 自己 / 昨天, nor before 了 / 过 / 发现 ("我跑跑看发现报错了", "试跑了
# 一下，报错"); an English one opens its clause or follows please / can you ("When I try to run it…", "I just try
# running it and it crashes", "test it myself?" are none)
_ZH_TOLD = r"(?<!(?<![帮替给])我)(?<![们己天])"  # after 我 (not 帮我 / 替我 / 给我), 我们, 自己, 昨天
PASTED_RUN = re.compile(
    rf"{_ZH_TOLD}(?:跑跑看|跑跑(?!看)|跑下(?![去来了])|直接跑|试跑一下|试试这段(?:代码)?|试一下这段(?:代码)?)(?![了过时的发])"
    r"|跑吧[。!！~]*$|(?:会|能)?(?:输出|打印)(?:什么|啥|些什么)|输出是什么|会打印出?什么"
    r"|(?:^|[.!?,;:。！？，；：]\s*|\b(?:please|pls|plz|can\s+you|could\s+you|would\s+you)\s+)(?:just\s+)?"
    r"(?:try\s+(?:to\s+run|running|this\s+out|it\s+out)|exec\b|test\s+(?:this|it|that|my\s+code|the\s+code)\b(?!\s+myself)"
    r"|test\s+(?:whether|if)\s+(?:this|it)\s+works)"
    r"|\bwhat\s+(?:does|would|will)\s+(?:this|it|that)\s+(?:print|output)\b|\bwill\s+(?:this|it)\s+print\b"
    r"|\bwhat(?:'s|\s+is|\s+gets)\s+printed\b",
    re.I | re.M)
_RUN_WORDS = re.compile(r"\b(run|re-?run|execute|demo|demonstrate|simulate)\b|运行|执行|演示|跑一下|跑一遍|跑一次|再跑|重新跑", re.I)
_SHOW_CODE = re.compile(
    r"\b(how\s+is|how\s+was|how\s+do\s+(i|you|we)\s+write|show\s+(me\s+)?the|what\s+does)\b.{0,60}\bcode\b"
    r"|\bcode\b.{0,60}\b(written|look\s+like|look)\b|代码.{0,10}(怎么|如何|是什么|长什么样|怎样)|(怎么|如何|怎样)写.{0,10}代码"
    r"|(给我看|展示|显示).{0,10}代码",
    re.I,
)
_LIST_WORDS = re.compile(  # the reading list, the syllabus or the schedule named
    r"\b(read|reading|readings|syllabus|schedule|week\s*\d+)\b|阅读|读什么|读哪些|课程大纲|课程安排|日历|第\s*\d+\s*周|第[一二三四五六七八九十]+周",
    re.I,
)
_PAPER_WORDS = re.compile(r"\bpapers?\b|论文", re.I)
_HOMEWORK = [  # asking the assistant for the work itself (the verb's doer is checked: _STUDENT_DOES)
    re.compile(r"\b(write|do|solve|finish|complete|implement|code)\b.{0,40}\b(my|our)\b.{0,40}\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"^\W*(please\s+|pls\s+|(can|could|would|will)\s+you\s+(please\s+)?)?(write|do|solve|finish|complete|implement|code)\b.{0,60}\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"\b(solutions?|answers?|full code)\b.{0,40}\b(homework|assignment|hw\s*\d)\b", re.I),
    # 解 solves (解题, 解一下, 求解); 解释 / 解读 / 解析 / 理解 / 了解 / 讲解 / 详解 explain: no request for the work
    re.compile(r"(帮我|替我|给我|直接|帮忙).{0,20}(写|做|完成|实现|给出|(?<![理了讲详图注见误])解(?![释读析说]))"
               r".{0,20}(作业|大作业|代码)"),
    re.compile(r"作业\s*\d*.{0,20}(答案|完整实现|解答|完整代码|代码)\s*(是什么|是啥|呢|吧)?\s*[？?!！。]?\s*$"),
    re.compile(r"(求|发我|告诉我|提供).{0,10}作业\s*\d*.{0,20}(答案|代码|完整实现|解答)"),
    re.compile(r"\b(write|implement|give me|solve)\b.{0,40}build your own (llama|lima)", re.I),
    # a fourth review's phrasings, each a request for the work as a whole message or with a request verb
    # (a review of them: "When are the hw2 solutions released?", 把作业2做完需要多久？ are questions)
    re.compile(r"^\W*(hw\s*\d|homework\s*\d+|assignment\s*\d+)\s+(solutions?|answers?|full code)(\s+(pls|please|plz))?\W*$",
               re.I),
    re.compile(r"\b(i need|i want|give me|send me|share|post|provide|(can|could) you (give|send|share|post|provide))\b"
               r"(\s+\w+)?\s+(the\s+)?(finished|completed?|full|working|entire)\s+(code|solution|implementation)\b.{0,30}"
               r"\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"\b(complete|full|entire|working)\b.{0,40}\bimplementation\b.{0,60}\b(homework|assignment|hw)\s*\d*\s+"
               r"(asks for|requires|wants)\b", re.I),
    re.compile(r"(^\W*|帮我|替我|给我|请你|麻烦你|你)把.{0,6}(作业|大作业)\s*\d*.{0,10}(做|写|完成|实现)(了|掉|完|出来|好)"
               r"\s*(吧|呀|啊|呗)?\s*[。！!？?]?\s*$"),
    re.compile(r"你(来|帮我|替我)(写|做|完成|实现).{0,10}(作业|代码)\s*\d*\s*(吧|呀|啊|呗)?\s*[。！!？?]?\s*$"),
    re.compile(r"(作业|大作业).{0,10}(完整代码|完整实现|答案|解答).{0,10}(发一下|发给我(?!们)|发我(?!们)|给我(?!们)|提供一下|分享一下)"),
]
# "can I do the project on my own?", "what do we implement in the first homework?": the student is the
# doer, asking about the assignment, not asking for it to be done
_STUDENT_DOES = re.compile(
    r"\b((i|we)(\s+(can|could|should|may|must|will|need\s+to|have\s+to|are\s+to|am\s+to|get\s+to))?"
    r"|(can|could|should|may|must|do|did|will|shall|would|am|are)\s+(i|we))\s+(\w+\s+)?$", re.I)
# 它 / 他 / 她 as pronouns: not inside 其他 (other), 吉他 (guitar), 利他, 他人 (others)
_PRONOUN_ZH = r"(?<!其)它|(?<![其吉利])[他她](?!人)"
# the whole message asks for more on what was just asked ("why?", "为什么？", "举个例子", "详细点", "tell me more
# about the second one"): common.text.tokenize keeps no word of most of these, and such a message was
# answered "please ask a question in words", or searched alone (an example of something else)
_ASKS_FOR_MORE = re.compile(
    r"^\W*(?:(?:but\s+|and\s+)?(?:why|why\s+not|why\s+is\s+that|how\s+so|how\s+come|really|what\s+do\s+you\s+mean"
    r"|(?:can\s+you\s+|could\s+you\s+|please\s+)?(?:give|show)\s+(?:me\s+)?(?:an?\s+|some\s+|another\s+)?examples?"
    r"|for\s+example|examples?|e\.g\.|more|more\s+details?|details?|in\s+detail|go\s+on|continue"
    r"|(?:can\s+you\s+|could\s+you\s+|please\s+)?(?:tell\s+me\s+more|explain(?:\s+(?:more|further|in\s+detail))?"
    r"|elaborate|say\s+more|expand(?:\s+on\s+(?:that|this))?)(?:\s+about\s+the\s+(?:first|second|third|last)(?:\s+one)?)?)"
    r"(?:\s*(?:please|pls|plz))?"
    r"|为什么|为啥|为何|怎么说|何以见得|真的吗|什么意思|啥意思|(?:能|可以)?(?:再)?举(?:个|几个|一个)?例子?|比如(?:说)?|例如|有(?:没有)?例子吗"
    r"|(?:能|可以)?(?:再)?(?:说|讲|解释)?(?:得)?(?:详细|具体|清楚)(?:一)?点|(?:再)?详细(?:说说|讲讲|解释一下|一些)?|展开(?:说说|讲讲)"
    r"|多(?:说|讲)(?:一点|一些|点)|继续|然后呢)[\W_]*(?:吗|呢|吧)?[\W_]*$", re.I)
_FOLLOW_UP = re.compile(
    rf"^\s*(那|那么|还有|然后|and\b|what about\b|how about\b|and what\b|and who\b|and how\b|why\b.{{0,10}}\b(it|that|this)\b)|呢[？?]?\s*$|{_PRONOUN_ZH}|\b(it|that|they|he|him|his|she|her|this one)\b",
    re.I,
)

# the whole message is a greeting or thanks (a question after "hi," is a question): no search, no model
_GREETING = re.compile(
    r"^\W*(hi+|hello+|hey+|hiya|yo|greetings|good\s+(morning|afternoon|evening|day)|"
    r"你好+|您好|嗨+|哈+喽|哈啰|嘿|早上好|上午好|下午好|晚上好|早安|晚安|在吗|在不在)"
    r"(\s*(there|all|everyone|everybody|courseta|bot|老师|助教|呀|啊|哇|哈|呢))?[\W_]*$", re.I)
_THANKS = re.compile(
    r"^\W*(thanks?(\s+(you|a\s+lot|so\s+much))?|thank\s+you(\s+(so|very)\s+much)?|thx|ty|cheers|"
    r"谢谢+|多谢|感谢|谢啦|谢了|辛苦了|好的|明白了|懂了|ok(ay)?|got\s+it)"
    r"(\s*(courseta|你|您|老师|助教|呀|啊|哈|啦|!|！))*[\W_]*$", re.I)


def small_talk(question: str) -> str | None:
    """``"greeting"`` or ``"thanks"`` when the whole message is one (a phrase of prompts/agent.yaml
    answers it: nothing in the notes is about "hi"), else None."""
    if _GREETING.match(question):
        return "greeting"
    if _THANKS.match(question) and not question.rstrip().endswith(("?", "？")):  # "okay?" is a question
        return "thanks"
    return None


# asking not to run ("不要运行", "别执行", "不需要运行", "只解释，不运行", "Don't run this", "You don't need to run it",
# "without running it"): a prohibiting word, a few adverbs at most (直接, 先, 帮我 …), a run verb. Not 能不能运行
# (can you run it), 用别的参数运行 (other arguments), 要不要运行 (should it run), 为什么不运行 (a bug report), 跑题 /
# 跑偏 (idioms), "doesn't run" (a bug report), "don't run out of memory"
_ZH_NO = (r"(?:(?<![要用])不要|(?<!用)不用|不需要|不想|不必|没必要|没有必要|无需|无须|请勿|切勿|勿|禁止|不许|不准"
          r"|跳过|(?<![分区特级类派识告性差个辨鉴判离组有送道职])别(?![的人处名针])|(?:(?<=^)|(?<=[\s，,。；;：:!！只先在并看讲读]))不)")
_ZH_ADVERBS = r"(?:直接|先|马上|立刻|立即|帮我|给我|替我|帮忙|让你|叫你|要你|你|去|急着|真的|真|实际|再|自己|着急|在[^，,。\s]{1,8}?[上里中])"
_EN_NO = (r"(?:\b(?:don'?t|don;t|dont'?|do\s+not|never|no\s+need\s+to|without|w/o|avoid|not\s+to"
          r"|(?:not|n't)\s+(?:asking|telling)\s+you\s+to)"
          # a clause of its own: "NO RUN.", "review only, no run:", "(no execution needed)", "show it, not run it"
          r"|(?:^|(?<=[,;:.!?(（，；：。！？]))\s*(?:(?:pls|please|but|and|just)\s+)?(?:not|no)(?:\s+a|\s+need\s+(?:to|2|for))?)\s+"
          r"(?:(?:need(?:\s+you)?|have|want\s+you|try|ask\s+you)\s+to\s+|bother\s+|(?:actually|just|even|ever|please)\s+)?")
_RUN_VERB_ZH = r"(?:运行|執行|運行|执行|跑(?![题偏步道]))"
_RUN_VERB_EN = r"(?:run(?:ning)?|exec(?:ut(?:e|ing|ion))?)(?![a-z])(?!\s+(?:out|into|away|through|over|across)\b)"
_NO_RUN = re.compile(rf"{_ZH_NO}\s?{_ZH_ADVERBS}{{0,3}}\s?(?:{_RUN_VERB_ZH}|{_RUN_VERB_EN})"
                     rf"|{_EN_NO}(?:{_RUN_VERB_EN}|{_RUN_VERB_ZH})", re.I)
# a run word that only mentions running ("When I run this I get…", "what would it print if run", "如果运行",
# "运行时报错", "跑下来结果是什么"): no request
_MENTION_BEFORE = re.compile(r"(?:\b(?:when|if|once|whenever)(?:\s+(?:i|we|you|it))?|\b(?:i|we|a|the|this\s+is\s+a)"
                             r"|\b(?:i|we)(?:'ve|\s+have)?\s+(?:\w+\s+)?(?:try|tried|trying)\s+to)\s+$"
                             r"|(?:如果|假如|要是|若|一)$", re.I)
_MENTION_AFTER = re.compile(r"(?:时|的时候|后|起来|下来|报错|出错|结果|不了|很|太|得|用的|过|了|\s+(?:it\s+)?(?:myself|before)\b|\s+(?:through|into|out|away|over)\b)", re.I)
# where a prohibition is none: about the code ("my code do not run"), a condition ("If I don't run model.eval()"),
# oneself ("I've never run Python before") unless it asks something of the assistant ("I don't want you to run it")
_NOT_A_PROHIBITION = re.compile(r"(?:\b(?:code|it|this|that|script|program|cell|function|loop|model|if|when|why|what\s+if)"
                                r"(?:\s+(?:i|we|you))?|\b(?:i|we|i've|we've|i\s+have|we\s+have))\s+$", re.I)
# quoted text ("报错说 “do not execute this cell twice”") and lines of pasted code ("asyncio.run(main())") are not the
# request's words
_QUOTED = re.compile(r"\"[^\"\n]{0,200}\"|“[^”\n]{0,200}”|「[^」\n]{0,200}」|(?<![A-Za-z])'[^'\n]{3,200}'(?![A-Za-z])")
# the prohibitions that can also state a fact ("my code do not run"): not those asking something of the assistant
_STATES = re.compile(r"(?:don'?t|don;t|dont'?|do\s+not|never)\s+(?:run|exec)", re.I)
# words asking for a run that route's own words miss: "跑100条", "帮我跑下"
_RUN_MORE = re.compile(r"跑下(?!来)|跑(?=\s*\d)|(?:请|帮我|麻烦|给我)跑")


def _asks_no_run(question: str) -> bool:
    """Does the question ask not to run its code? Only when no other words ask for a run or a demo (any
    word :func:`route` takes for one, outside the prohibition: "Don't run the full training, just run one
    step", "画一下 loss 曲线，不用跑训练", "运行第一个 cell，别运行第二个"); a run only mentioned asks for none
    ("When I run this I get an IndexError. Don't run it"). A fenced block is code, not the request's words.

    >>> _asks_no_run("别执行，先解释：```print(1)```"), _asks_no_run("运行这段代码，不要执行网络请求：print(1)")
    (True, False)
    >>> _asks_no_run("When I run this I get an IndexError. Don’t run it, just tell me why")
    True
    >>> _asks_no_run("```\\n# 不要运行 rm -rf\\nprint(1)\\n```"), _asks_no_run("不用解释直接运行")
    (False, False)
    """
    question = question.replace("\u2019", "'")
    if not _NO_RUN.search(question):  # most questions: no second pass over the fences
        return False
    prose = _QUOTED.sub(" ", without_pasted_code(question))
    spans = [m.span() for m in _NO_RUN.finditer(prose)
             if not _STATES.match(m.group()) or not _NOT_A_PROHIBITION.search(prose[max(0, m.start() - 24):m.start()])]
    if not spans:
        return False
    asking = _RUN_WORDS if _SHOW_CODE.search(prose) else _CODE_WORDS  # "不用跑，画心形图的代码是怎么写的？" draws nothing
    starts = [a for a, _ in spans]  # in order, apart: finditer's
    for m in [*asking.finditer(prose), *_RUN_MORE.finditer(prose)]:
        inside = bisect.bisect_right(starts, m.start()) - 1
        if inside >= 0 and m.start() < spans[inside][1]:
            continue
        if _MENTION_BEFORE.search(prose[max(0, m.start() - 16):m.start()]) or _MENTION_AFTER.match(prose, m.end()):
            continue
        return False
    return True


# a line of code pasted into the question ("print(2**10)", "x = 1"): the question then brings its own code
_CODE_LINE_IN = re.compile(r"^[ \t]*(?:>>>[ \t]|(?:import|from|def|class|for|while|with|print|return)\b|[\w.\[\]]+[ \t]*[-+*/]?=[^=]"
                           r"|[\w.]+\(.*\)[ \t]*$).*$", re.M)


# a line opening by asking what the code after it prints ("这个输出啥？ print(…)", "What does this print? print(…)",
# "What is the output of print(3 * 4)?"): the asking part, up to its mark (an English "… of" needs none)
ASKS_OUTPUT_FIRST = re.compile(
    r"(?:请问|老师)?[，,\s]*(?:这个|这段(?:代码)?|这行(?:代码)?|下面(?:的)?(?:代码)?|以下(?:的)?(?:代码)?)?的?"
    r"(?:会|能)?(?:输出|打印)(?:出来?)?(?:什么|啥|些什么|是什么|结果是什么)[呢吗]?\s*[?？:：]"
    r"|(?:这个|这段(?:代码)?|这行(?:代码)?|下面(?:的)?(?:代码)?)的?(?:输出|结果)是(?:什么|啥)[呢吗]?\s*[?？:：]"
    r"|what\s+(?:does|would|will)\s+(?:this|it|that|the\s+following)(?:\s+(?:code|line|snippet))?\s+(?:print|output)"
    r"(?:\s*[?:]|\s+when\s+(?:I\s+|you\s+)?run\s+it\s*[?:])"
    r"|what(?:'s|\s+is)\s+the\s+output\s+of(?:\s+this)?(?:\s+code)?(?:\s*[?:])?", re.I)
# the same asked after the code, ending its line ("print(2 ** 10) 输出啥？", "print(3 * 4) what does it print?")
_ASKS_OUTPUT_LAST = re.compile(
    r"\s*[，,]?\s*(?:这个|这段(?:代码)?|这行(?:代码)?|它)?(?:会|能)?(?:输出|打印)(?:出来?)?(?:什么|啥|些什么|是什么)[呢吗]?[?？]*\s*$"
    r"|\s*[，,]?\s*(?:—\s*)?what\s+(?:does|would|will)\s+(?:this|it|that)\s+(?:print|output)\s*\?*\s*$", re.I)


def code_asked_on_line(question: str) -> str | None:
    """The whole program (agent.python_names) a one-line question asks the output of, before or after
    the asking ("这个输出啥？ print(sum(range(5)))", "print(2 ** 10) 输出啥？"); None otherwise. The notes were
    searched for such a question ("print sum range"), and declined.

    >>> code_asked_on_line("这个输出啥？ print(sum(range(5)))"), code_asked_on_line("What is the output of print(3*4)?")
    ('print(sum(range(5)))', 'print(3*4)')
    >>> code_asked_on_line("print(2 ** 10) 输出啥？"), code_asked_on_line("What is the output of softmax(logits)?")
    ('print(2 ** 10)', None)
    >>> code_asked_on_line("What is the output of len('hello')?")  # run, it would print nothing (a review's)
    """
    lines = question.strip().splitlines()
    if len(lines) != 1:
        return None
    line = lines[0].strip()
    first, last = ASKS_OUTPUT_FIRST.match(line), _ASKS_OUTPUT_LAST.search(line)
    for code in (without_question_mark(line[first.end():].strip()) if first else "",
                 line[:last.start()].strip() if last else ""):
        if holds_code(code) and self_contained(code) and not annotation_only(code) and prints_something(code):
            return code
    return None


def without_question_mark(code: str) -> str:
    """``code`` less a question mark ending it where the code compiles only without it ("print(3 * 4)?").

    >>> without_question_mark("print(3 * 4)?"), without_question_mark("print('?')")
    ('print(3 * 4)', "print('?')")
    """
    if code.endswith(("?", "？")) and holds_code(code[:-1]) and not holds_code(code):
        return code[:-1].rstrip()
    return code


# a line that goes on a statement above it: indented, closing a bracket, a comment, a decorator, or a clause
_GOES_ON = re.compile(r"[ \t)\]}#@]|(?:elif|else|try|except|finally|return|raise|pass|break|continue|yield|assert"
                      r"|del|global|nonlocal|async|await|if|lambda)\b")


def code_line(line: str) -> bool:
    """Does ``line`` read as a line of Python (a statement, a call, or one going on a statement above)?

    >>> code_line("x = np.array([1,2]"), code_line("    print(x)"), code_line("谢谢"), code_line("Why does it fail?")
    (True, True, False, False)
    """
    return bool(_CODE_LINE_IN.fullmatch(line) or _GOES_ON.match(line))


def brings_code(question: str) -> bool:
    """Does the question bring code of its own: a fenced block, or a pasted line of code?

    >>> brings_code("这段代码是什么意思？\\nx = [1, 2]"), brings_code("什么是交叉熵？")
    (True, False)
    """
    return bool(CODE_BLOCK.search(question) or _CODE_LINE_IN.search(question))


def own_code_sentence(question: str) -> str | None:
    """The sentence (prompts/agent.yaml key) that answers code of the student's own without running it:
    ``code_not_run`` when asked not to run it (:func:`keep_code_unrun`), ``code_not_explained`` when asked
    about it (:func:`explains_own_code`); None otherwise, and when the question names the course's
    materials (:func:`asks_about_notes`: searched as a question on the notes).

    >>> own_code_sentence("别运行\\nprint(1)"), own_code_sentence("什么意思？\\nprint(1)"), own_code_sentence("讲义里的这段什么意思？\\nprint(1)")
    ('code_not_run', 'code_not_explained', None)
    """
    if asks_about_notes(question):
        return None
    if keep_code_unrun(question):
        return "code_not_run"
    return "code_not_explained" if explains_own_code(question) else None


def without_pasted_code(question: str) -> str:
    """The question's own words: fenced blocks and lines of pasted code taken out, and with pasted code
    its comment lines too ("# plot the loss" is no request to plot).

    >>> without_pasted_code("不要运行，这段代码会输出什么？\\nimport numpy as np\\n# run it\\nprint(np.ones(2))").split()
    ['不要运行，这段代码会输出什么？']
    """
    words = CODE_BLOCK.sub(" ", question)
    if _CODE_LINE_IN.search(words):
        words = _COMMENT_LINE.sub(" ", words)
    return _CODE_LINE_IN.sub(" ", words)


_COMMENT_LINE = re.compile(r"^[ \t]*#.*$", re.M)


# asking what code does or means ("这段代码是什么意思？", "解释一下", "What does this code do?", "explain this",
# "How does this work?", "walk me through it"), or why it fails
_EXPLAIN_ASK = re.compile(
    r"(?<![不别用要需])(?:解释|讲解)|讲讲|解读|解析|什么意思|啥意思|是干什么|干什么的|是干嘛|干嘛的|在干嘛|干啥|做啥|做什么的|在做什么|在干什么|怎么理解"
    r"|看不懂|没看懂|读不懂|不理解|什么作用|啥作用|什么功能|实现了什么|逻辑是什么|什么逻辑|原理"
    r"|(?<!n't\s)(?<!nt\s)(?<!not\s)(?<!to\s)\bexp(?:lain|alin|lian|lane)|\bw(?:ha|a)t\s+(?:does|do|is)\s+(?:this|it|that|the|my)\b[^?\n]{0,40}?\b(?:do|doing|mean|for)\b"
    r"|\bwhat\s+does\b[^?\n]{0,60}?\bmean\b|\bwhat\s+(?:this|it|that|the)\b[^?\n]{0,30}?\b(?:does|means)\b"
    r"|\bwhat'?s\s+(?:this|that|it)\s+(?:code\s+)?(?:doing|for)\b|\bwhat'?s\s+going\s+on\b|\bhow\s+does\s+(?:this|it|that|the\s+code|my\s+code)\s+work"
    r"|\b(?:purpose|point)\s+of\b|\bwalk\s+me\s+thr(?:ough|u)\b|\bbreak\s+(?:it\s+|this\s+)?down\b|\bhelp\s+me\s+understand\b"
    r"|\b(?:don'?t|dont|do\s+not)\s+(?:get|understand)\b|\bdescribe\b"
    # or why it fails ("为什么这段代码报错了？", "When I try to run this I get nan", "What's wrong with it?")
    r"|报错|出错|错误|有问题|不对|失败|找不到|哪里错|死循环|卡住|显示不出|\bbug|errors?\b|exception|traceback|crash|\bnan\b"
    r"|\bwrong\b|doesn'?t\s+work|not\s+working|isn'?t\s+working|\bnot\s+found\b|\bfails?\b|\bhangs?\b"
    # or to review, check or improve it ("帮我检查一下代码", "Is my perplexity calculation correct?")
    r"|检查|review|debug|对不对|写对|对了没|对吗|\bcorrect\b|优化|optimi[sz]e|更好的写法|复杂度|complexity|注释"
    # or why it behaves as it does, what to change ("为啥这个 print 出来是 tuple", "Why is the shape (3, 3)?")
    r"|为什么|为啥|\bwhy\b|原因|怎么改|改成|区别|不一样|\bdifference\b|\bcheck\b|干嘛用|什么用"
    r"|\bwhat\s+does\b[^?\n]{0,60}?\bdo\b|\bhow\s+does\s+(?:this|that|my|the)\s+code\s+work", re.I)


# the course's materials named ("课件里的", "the notes", "lecture 1"): code brought with such a question is asked
# about the notes ("我写的这个 bigram 计数跟课上讲的 n-gram 模型是什么关系？", "Which lecture is this code from?")
_COURSE_NAMED = re.compile(r"课上|课件|讲义|课程|笔记|课堂|第\s*\S{1,3}\s*讲|\blectures?\b|\bslides?\b|\bnotes\b|\bcourse\b", re.I)


def asks_about_notes(question: str) -> bool:
    """Does the question bring code of its own, ask for no run, and name the course's materials? It is a
    question on the notes then, searched as any other (not run, nor answered with the sentence for code
    of the student's own).

    >>> asks_about_notes("这个熵的代码和课程里香农熵的定义一样吗？\\n```python\\nprint(1)\\n```")
    True
    >>> asks_about_notes("运行一下课件里的这段代码\\n```python\\nprint(1)\\n```"), asks_about_notes("什么是熵？")
    (False, False)
    """
    if not brings_code(question):
        return False
    words = without_pasted_code(question)
    return bool(_COURSE_NAMED.search(words)) and not _asks_for_run(words, drawing=False)


def explains_own_code(question: str) -> bool:
    """Does the question bring code of its own (fenced, or pasted lines) and ask what it does or means,
    without asking for a run? The route strategy then says in one sentence that it answers from the
    notes and runs demos, and how to have the code run (prompts/agent.yaml ``code_not_explained``):
    fenced, such code ran with its output as the only answer ("只解释一下这段代码"); pasted without a
    fence, "What does this code do?" showed the notes' heart plot as "how the code is written", and
    "这段代码是什么意思？" quoted the notes on entropy.

    >>> explains_own_code("这段代码是什么意思？\\nx = [1, 2]\\nprint(sum(x))"), explains_own_code("What does this code do?\\n```python\\nprint(1)\\n```")
    (True, True)
    >>> explains_own_code("解释一下然后运行它\\n```python\\nprint(1)\\n```"), explains_own_code("画心形图的代码是什么意思？")
    (False, False)
    >>> explains_own_code("这段代码会输出什么？\\n```python\\nprint(1)\\n```")  # its output: a run answers it
    False
    """
    if not brings_code(question):
        return False
    words = without_pasted_code(question)
    return bool(_EXPLAIN_ASK.search(words)) and not _asks_for_run(words)


def _asks_for_run(words: str, drawing: bool = True) -> bool:
    """Do a question's own words ask for a run or a demo, not only mention one ("我已经运行过了", "When I
    run it I get nan")? Without ``drawing``, words of drawing ("它画的是什么？") ask for none.

    >>> _asks_for_run("我已经运行过了，解释一下结果"), _asks_for_run("解释一下然后跑一下"), _asks_for_run("What does this print?")
    (False, True, True)
    """
    for m in [*(_CODE_WORDS.finditer(words) if drawing else ()), *_RUN_WORDS.finditer(words), *PASTED_RUN.finditer(words)]:
        if not (_MENTION_BEFORE.search(words[max(0, m.start() - 16):m.start()]) or _MENTION_AFTER.match(words, m.end())):
            return True
    return False


def pasted_lines(question: str) -> list[str]:
    """The lines of code a question brings: its first fenced block's, else its pasted code lines.

    >>> pasted_lines("这段代码是什么意思？\\nx = [1, 2]\\nprint(sum(x))")
    ['x = [1, 2]', 'print(sum(x))']
    """
    code = extract_code(question)
    lines = code.splitlines() if code is not None else [m.group(0) for m in _CODE_LINE_IN.finditer(question)]
    return [line.strip() for line in lines if line.strip()]


def keep_code_unrun(question: str) -> bool:
    """Does the question bring code of its own (fenced, or pasted lines) and ask not to run it? The route
    strategy then says so in one sentence (prompts/agent.yaml ``code_not_run``): its quotes cannot explain
    a student's code, and searched for, its words (``import numpy as np``, ``print``) found the notes'
    heart plot, quoted as if it were the answer.

    >>> keep_code_unrun("不要运行，这段代码会输出什么？\\n```python\\nprint(2**10)\\n```"), keep_code_unrun("不用运行，画心形图的代码是怎么写的？")
    (True, False)
    """
    return _asks_no_run(question) and brings_code(question)


def route(question: str) -> str:
    """The tool for a course question: run_python, show_code (how is the code written: shown with its
    citation, not run), list_readings or search_course. A question that asks not to run (:func:`_asks_no_run`)
    never gets run_python: the route strategy answers one that brings its own code in a sentence
    (:func:`keep_code_unrun`), the tool-calling one lets its model answer without the run tool.

    >>> route("不要运行\\nprint(1)"), route("Don't run this, just explain:\\n```python\\nprint(1)\\n```")
    ('search_course', 'search_course')
    >>> route("能不能运行一下这段代码：print(1)"), route("用别的参数运行一下：print(2)")
    ('run_python', 'run_python')
    >>> route("跑跑看\\nprint('LLM'.lower())"), route("Try running it\\nprint(2)"), route("Which test set do we use?")
    ('run_python', 'run_python', 'search_course')
    """
    if other_language(question):  # "```bash\nnvidia-smi```": no Python to run (the route strategy says so)
        return "search_course"
    if _asks_no_run(question) or explains_own_code(question) or asks_about_notes(question):
        # the notes' code is shown for a question about it; pasted code is no course material to show so
        pasted = CODE_BLOCK.search(question) or _CODE_LINE_IN.search("\n".join(question.splitlines()[1:]))
        return "show_code" if _SHOW_CODE.search(question) and not pasted else "search_course"
    if _SHOW_CODE.search(question) and not _RUN_WORDS.search(question) and not CODE_BLOCK.search(question):
        return "show_code"
    if CODE_BLOCK.search(question) or _CODE_WORDS.search(question):
        return "run_python"
    if PASTED_RUN.search(question) and _CODE_LINE_IN.search("\n".join(question.splitlines()[1:])):
        return "run_python"
    if code_asked_on_line(question) is not None:  # "这个输出啥？ print(sum(range(5)))"
        return "run_python"
    if _LIST_WORDS.search(question) or _PAPER_WORDS.search(question):
        return "list_readings"
    return "search_course"


def names_reading_list(question: str) -> bool:
    """Does the question name the reading list, the syllabus or the schedule (not only a paper, which
    the notes may discuss: agent.tools.reading_hits)?

    >>> names_reading_list("阅读清单里有没有讲 LoRA 的论文？"), names_reading_list("香农在哪篇论文中奠定了信息理论的基础？")
    (True, False)
    >>> names_reading_list("What is on the schedule for week 3?"), names_reading_list("Which paper introduced GPT-3?")
    (True, False)
    """
    return bool(_LIST_WORDS.search(question))


# a paper or a reading asked for, on a subject (not the list's topics, sections or kinds of resource)
_READING_ASKED = re.compile(
    r"论文|文章|哪篇|哪一篇|读什么|读哪|关于.{1,30}?(?:阅读|reading)|\b(?:papers?|articles?)\b|\ba reading\b"
    r"|\breadings?\s+(?:on|about|for|covers?|covering)\b|\bread\s+(?:about|on)\b", re.I)


def asks_for_a_reading(question: str) -> bool:
    """Does the question ask for a paper or a reading on a subject, which an entry of the list answers, not
    for what the list holds as a whole (its topics, sections or kinds of resource), which its table of
    contents or opening answers (agent.tools.reading_hits)?

    >>> [asks_for_a_reading(q) for q in ("Which paper on the reading list treats ICL as Bayesian inference?",
    ...     "关于涌现能力有哪些阅读材料？", "Is there a reading on diffusion models?", "What should I read about privacy?")]
    [True, True, True, True]
    >>> [asks_for_a_reading(q) for q in ("What topics does the reading list cover?", "这门课的阅读材料包括哪些类型的资源？",
    ...     "阅读列表的基础知识部分包括哪些主题？", "这门课的 reading list 整体涵盖哪些 topics？")]
    [False, False, False, False]
    """
    return bool(_READING_ASKED.search(question))


def is_homework_request(question: str) -> bool:
    """Does the question ask for an assignment's solution (not about the assignment)?

    >>> is_homework_request("Can you solve hw2 for me?"), is_homework_request("帮我写作业3的代码")
    (True, True)
    >>> is_homework_request("Can I do the quarter-long project on my own?")
    False
    >>> is_homework_request("What do we implement in the first homework?"), is_homework_request("作业2的代码怎么提交？")
    (False, False)
    """
    for pattern in _HOMEWORK:
        for match in pattern.finditer(question):
            before = question[:match.start()]
            if not _STUDENT_DOES.search(before) and not _EXPLAIN.search(before):
                return True
    return False


# asked to explain what comes after ("帮我理解作业2的代码"): about the assignment, not for its solution
_EXPLAIN = re.compile(r"解释|理解|讲解|详解|解读|看懂|读懂|了解")


_OTHER_FENCE = re.compile(rf"```[ \t]*({_OTHER_TAGS})[ \t]*\n", re.I)


def other_language(question: str) -> str | None:
    """The language tag of a fence in the question that is not Python, else None.

    >>> other_language("run this\\n```bash\\nnvidia-smi\\n```"), other_language("```python\\nprint(1)\\n```")
    ('bash', None)
    """
    match = _OTHER_FENCE.search(question)
    return match.group(1) if match else None


def extract_code(text: str) -> str | None:
    """The first fenced code block of ``text`` (a passage's, or a question's: agent.pasted_code.question_code)."""
    match = CODE_BLOCK.search(text)
    return match.group(1).strip() if match else None


def is_follow_up(question: str) -> bool:
    return len(question) <= 60 and bool(_FOLLOW_UP.search(question) or _ASKS_FOR_MORE.match(question))


def standalone_query(question: str, previous_questions: list[str]) -> str:
    """A follow-up ("那1951年呢？", "and who teaches it?") joined to the question it follows; one asking only
    for more on it ("why?", "举个例子") is searched, and judged by the scope guard, as that question (its
    words name nothing to look for, and judged with them, "tell me more about the second one" was declined).

    >>> standalone_query("那1951年呢？", ["香农在1948年提出了什么？"]), standalone_query("为什么？", ["什么是困惑度？"])
    ('香农在1948年提出了什么？ 那1951年呢？', '什么是困惑度？')
    >>> standalone_query("举个例子", ["什么是困惑度？", "为什么？", "谢谢"]), standalone_query("为什么？", ["运行一下\\nprint(1)"])
    ('什么是困惑度？', '为什么？')
    >>> standalone_query("详细点", ["画一个心形图"])
    '详细点'
    """
    if previous_questions and len(question) <= 60 and _ASKS_FOR_MORE.match(question):
        # the question itself, past other requests for more and thanks ("为什么？" then "举个例子"); none after
        # the student's own code (its words found the notes' heart plot): asked alone, as before
        asked = next((q for q in reversed(previous_questions)
                      if not (len(q) <= 60 and _ASKS_FOR_MORE.match(q)) and not small_talk(q)), None)
        # nor after a demo asked for ("画一个心形图" then "详细点" quoted the plot's code as prose)
        return question if asked is None or brings_code(asked) or route(asked) in ("run_python", "show_code") else asked
    if previous_questions and is_follow_up(question):
        return f"{previous_questions[-1]} {question}"
    return question


# a word pointing back at what was asked before: "it", "这个", "其缺点", "该模型" (not 这周末 "this
# weekend", 我该 / 应该 "should", 其实 "actually", 其他 "other")
_POINTS_BACK = re.compile(
    rf"\b(it|its|that|this|these|those|they|them|their|he|him|his|she|her|former|latter|above)\b|{_PRONOUN_ZH}"
    r"|(?<![尤极与])其(?![实他它中次余])|这(?!个?(?:周|星期|礼拜|月|学期|天|年))|那(?:个|些|种|样)(?!周|星期|天)|此"
    r"|(?<![应我你们他她])该(?![去怎如做不])|上述|前者|后者", re.I)


def has_own_topic(question: str, previous_questions: list[str]) -> bool:
    """Is the question a follow-up that names a topic of its own: no word pointing back, and two
    words or more (not numbers) the question it follows does not hold? The scope guard judges
    such a question alone too (the previous question's words do not make "the World Cup" a course
    topic); it is still answered from the search for both.

    >>> has_own_topic("And who won the 2018 World Cup?", ["What is perplexity?"])
    True
    >>> has_own_topic("那食堂几点开门呢？", ["CS2916 的作业有哪些？"]), has_own_topic("那1951年呢？", ["香农在1948年提出了什么？"])
    (True, False)
    >>> has_own_topic("How does it differ from fine-tuning?", ["What is in-context learning?"])
    False
    """
    if not previous_questions or not is_follow_up(question) or _POINTS_BACK.search(question):
        return False
    if _ASKS_FOR_MORE.match(question):  # "give an example", "tell me more about the second one": more of the same
        return False
    before = set(tokenize(previous_questions[-1]))
    own = [t for t in dict.fromkeys(tokenize(question)) if t not in before and not t.replace(".", "").isdigit()]
    return len(own) >= 2


def runnable_code_in(text: str) -> str | None:
    """A code block inside a passage that compiles and looks whole (slides add lines like
    'python Copy code' on top; PDF extraction wraps long lines, which are joined back).

    >>> runnable_code_in("python Copy code\\n```python\\nCopy code\\nprint(1)\\n```")
    'print(1)'
    """
    code, state = code_in(text)
    return code if state in ("ok", "repaired") else None


def code_in(text: str) -> tuple[str | None, str]:
    """The code block of a passage and its state: ok, repaired (wrapped lines joined), incomplete
    (does not compile, or an expression stops at a bare module name such as ``- np``: the line was
    cut), or none.

    >>> code_in("```python\\nimport numpy as np\\ny = 2 * np.cos(1) - np\\n.sin(2)\\nprint(y)\\n```")
    ('import numpy as np\\ny = 2 * np.cos(1) - np.sin(2)\\nprint(y)', 'repaired')
    >>> code_in("```python\\nimport numpy as np\\ny = 2 * np.cos(1) - np\\nprint(y)\\n```")[1]
    'incomplete'

    A fenced example sentence is no code, though it compiles (a bare string: the notes' Shannon game):

    >>> code_in('```\\n"the mouse ate my ho_"\\n```')
    (None, 'none')
    """
    code = extract_code(text)
    if code is None or _only_literals(code):
        return None, "none"
    lines = [line.rstrip() for line in code.splitlines()]
    first = None
    for start in range(min(4, len(lines))):  # skip 'Copy code' and similar lines above the code
        if start and _CODE_LINE.match(lines[start - 1]):
            break  # never drop a line of code to make the rest compile
        body = lines[start:]
        if _whole("\n".join(body)):
            return "\n".join(body).strip(), "ok"
        repaired = _join_wrapped(body)
        if repaired is not None:
            return repaired.strip(), "repaired"
        if first is None and _compiles("\n".join(body)):
            first = "\n".join(body).strip()
    if first is None and not any(_CODE_LINE.match(line) for line in lines):
        return None, "none"  # prose in a fence (a model's "Input: … Output: …" example), not code
    return (first or "\n".join(lines).strip()), "incomplete"


_CODE_LINE = re.compile(r"\s*(import|from|def|class|for|while|if|with|print)\b|.*=")


def _only_literals(code: str) -> bool:
    """Is ``code`` nothing but literal values ("the mouse ate my ho_", 42): a quoted example, which
    running would show nothing of?"""
    import ast

    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def _compiles(code: str) -> bool:
    try:
        compile(code, "<passage>", "exec")
        return True
    except (SyntaxError, ValueError):
        return False


def _whole(code: str) -> bool:
    """Compiles, and no arithmetic stops at a bare imported module (``... - np``: a cut line)."""
    import ast

    if not _compiles(code):
        return False
    tree = ast.parse(code)
    modules = {alias.asname or alias.name.split(".")[0]
               for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            for side in (node.left, node.right):
                if isinstance(side, ast.Name) and side.id in modules:
                    return False
    return True


def _join_wrapped(lines: list[str], max_joins: int = 3) -> str | None:
    """Join lines that a PDF wrapped (a line continued on the next) until the code is whole."""
    for _ in range(max_joins):
        for i in range(len(lines) - 1):
            nxt = lines[i + 1].lstrip()
            if not nxt:
                continue
            glue = "" if nxt[0] in ".,)]}" or lines[i].endswith(("(", "[", "{", ".")) else " "
            candidate = lines[:i] + [lines[i] + glue + nxt] + lines[i + 2:]
            if _whole("\n".join(candidate)):
                return "\n".join(candidate)
        break
    return None
