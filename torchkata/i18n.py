"""The words of the command line, in English and Chinese (the course's language).

`--lang zh`, or a locale whose language is Chinese (LANG=zh_CN.UTF-8), picks Chinese.
"""

from __future__ import annotations

import os

TEXT = {
    "en": {
        "title": "torchkata: {done}/{total} exercises done, {points}/{max_points} points",
        "done": "done", "wrong": "wrong", "not attempted": "not attempted", "grading error": "grading error",
        "could not load": "could not load",
        "not_loaded": "{id} could not be loaded, so none of it ran: fix this first, then check again:",
        "next": "Next: {id}, open {path}:{line}",
        "next_help": "`torchkata check` grades it, `torchkata hint` gives a hint, `torchkata watch` regrades on every save.",
        "all_done": "Every exercise is done. Compare yours with the reference: torchkata solution EXERCISE",
        "grading": "Grading {what} ...",
        "passed": "{id} passes every test. Well done!",
        "failed": "{id} is not right yet:",
        "in_tests": " (in {n} tests)",
        "also_graded": "{id} changed too: {verdict} (torchkata check {id} says more)",
        "more_failures": "... and {n} more failing tests; fix these first, then check again.",
        "printed": "  Your code printed (in the first failing test):",
        "tests_changed": "Your verdicts come from modified tests: {files} differ from the published suite, so a pass "
                         "here may not be a pass in the kata (git checkout tests/ restores them).",
        "grading_error": "{id} could not be graded: a grading error (the grader failed, not your code). Fix the cause below and check again:",
        "not_attempted": "{id} is not attempted yet: open {path}:{line} and replace the `raise NotImplementedError`.",
        "timed_out": "your code did not finish in {seconds:g} s (an infinite loop, or a sleep?)",
        "hint": "Hint {n} of {total} for {id}:",
        "last_hint": "(that was the last hint)",
        "solution_locked": "{id} is not done yet: the reference solution unlocks once your version passes (torchkata check {id}).",
        "solution": "The reference solution of {id} (solutions/{module}.py), to compare with yours:",
        "reset_done": "{id} is back to its original stub in {path}. Your version was saved to {backup}.",
        "reset_stub": "{id} is already the untouched stub; nothing to reset.",
        "watching": "Watching {folder} for saves (Ctrl-C to stop). Working on: {id}",
        "moving_on": "On to the next exercise: {id}, in {path}:{line}",
        "saved": "[{time:%H:%M:%S}] {files} saved: grading {id}",
        "plots_written": "Wrote {files}",
        "section": {"activations": "1 Activations", "initialization": "2.1-2.7 Initialisation",
                    "regularization": "2.8 Dropout", "networks": "3 Building networks", "losses": "4 Losses",
                    "training": "4.4 One training step", "capstone": "3-4 Capstone: train the whole network"},
    },
    "zh": {
        "title": "torchkata：已完成 {done}/{total} 道练习，得分 {points}/{max_points}",
        "done": "已完成", "wrong": "有错误", "not attempted": "未开始", "grading error": "评分出错",
        "could not load": "无法加载",
        "not_loaded": "{id} 所在的模块无法加载，代码一行也没有运行：先解决下面的问题，再重新检查：",
        "next": "下一题：{id}，打开 {path}:{line}",
        "next_help": "`torchkata check` 评分，`torchkata hint` 给提示，`torchkata watch` 每次保存后自动重新评分。",
        "all_done": "全部练习都完成了！可以用 torchkata solution 练习名 对照参考答案。",
        "grading": "正在评分 {what} ……",
        "passed": "{id} 通过了全部测试，做得好！",
        "failed": "{id} 还不对：",
        "in_tests": "（共 {n} 个测试）",
        "also_graded": "{id} 也有改动：{verdict}（torchkata check {id} 查看详情）",
        "more_failures": "……还有 {n} 个测试没有通过；先解决上面的问题，再重新检查。",
        "printed": "  你的代码输出了（第一个失败的测试中）：",
        "tests_changed": "你的评分来自被修改过的测试：{files} 与发布的测试不同，所以这里的通过不一定是真正的通过"
                         "（git checkout tests/ 可以恢复）。",
        "grading_error": "{id} 无法评分：这是评分程序自身的错误，不是你的代码的问题。请先解决下面的原因，再重新检查：",
        "not_attempted": "{id} 还没有开始：打开 {path}:{line}，把 `raise NotImplementedError` 换成你的代码。",
        "timed_out": "你的代码在 {seconds:g} 秒内没有结束（死循环？还是 sleep？）",
        "hint": "{id} 的提示 {n}/{total}：",
        "last_hint": "（这是最后一条提示）",
        "solution_locked": "{id} 还没有通过：通过之后才能查看参考答案（torchkata check {id}）。",
        "solution": "{id} 的参考答案（solutions/{module}.py），和你的写法对照一下：",
        "reset_done": "{id} 已恢复为原始题目，位于 {path}。你之前的代码保存在 {backup}。",
        "reset_stub": "{id} 还是原始题目，无需恢复。",
        "watching": "正在监视 {folder} 中的保存（Ctrl-C 退出）。当前练习：{id}",
        "moving_on": "进入下一题：{id}，位于 {path}:{line}",
        "saved": "[{time:%H:%M:%S}] 已保存 {files}：正在评分 {id}",
        "plots_written": "已生成 {files}",
        "section": {"activations": "1 激活函数", "initialization": "2.1-2.7 参数初始化", "regularization": "2.8 Dropout 随机失活",
                    "networks": "3 搭建神经网络", "losses": "4 损失函数", "training": "4.4 一步训练",
                    "capstone": "3-4 综合：训练整个网络"},
    },
}


def language(requested: str | None = None) -> str:
    if requested:
        return "zh" if requested.lower().startswith("zh") else "en"
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def words(lang: str) -> dict:
    return TEXT[lang]
