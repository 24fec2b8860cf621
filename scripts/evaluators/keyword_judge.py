#!/usr/bin/env python3
"""An example llmwatch external evaluator: is the answer grounded in the retrieved context?

llmwatch runs it once per chosen LLM call (see `[[external]]` in docs/evaluators.md) with one JSON
object on stdin (the call: input, output, context, tool_results, model, attributes, ...) and
reads one JSON verdict from stdout. This judge is deterministic and needs only the standard
library:

    score  = share of the answer's distinct content words (lowercased runs of 3+ letters or
             digits, minus common English words) that appear in the context: the retrieved
             documents and the tool results the model was given
    passed = score >= threshold (default 0.5; `--threshold 0.3` to change it)

A call without an answer or without context gets a verdict with a label ("no_answer",
"no_context") and neither score nor pass/fail. Config:

    [[external]]
    name = "KeywordJudge"
    command = ["python3", "scripts/evaluators/keyword_judge.py", "--threshold", "0.5"]
    sample = 0.1
    always = ["error", "cost_outlier"]
    timeout = "5s"

Try it by hand: `echo '{"output": [{"role": "assistant", "content": "Orders ship in two days"}],
"context": [{"content": "All orders ship within two business days."}]}' | python3
scripts/evaluators/keyword_judge.py`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

STOPWORDS = frozenset(
    """
    the and for are but not you your yours with this that these those from have has had was were
    will would can could should shall may might must our ours out its it's into onto over under
    about above after again against all also any because been before being below between both
    did does doing down during each few further here how more most other own same some such
    than then there their theirs them they what when where which while who whom why yes very
    just now only once too off per via let let's i'm i've you're we're isn't aren't wasn't don't
    doesn't didn't won't can't hers his him she her he's she's one two
    """.split()
)
WORD = re.compile(r"[^\W_]{3,}", re.UNICODE)


def words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def judge(call: dict, threshold: float) -> dict:
    answer = "\n".join(
        m.get("content") or ""
        for m in call.get("output") or []
        if m.get("role") not in ("tool", "user", "system")
    )
    context = [d.get("content") or "" for d in call.get("context") or []]
    context += [t.get("content") or "" for t in call.get("tool_results") or []]
    said = words(answer)
    if not said:
        return {"label": "no_answer", "explanation": "the call has no answer text to judge"}
    known = set().union(*(words(c) for c in context)) if context else set()
    if not known:
        return {"label": "no_context", "explanation": "no retrieved documents or tool results"}
    found = said & known
    score = round(len(found) / len(said), 4)
    passed = score >= threshold
    missing = sorted(said - known)[:8]
    explanation = f"{len(found)} of {len(said)} answer words found in {len(context)} context item(s)"
    if missing and not passed:
        explanation += "; not in context: " + ", ".join(missing)
    return {
        "score": score,
        "label": "grounded" if passed else "ungrounded",
        "passed": passed,
        "explanation": explanation,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5, help="pass at or above (0.5)")
    args = parser.parse_args()
    try:
        call = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        print(f"keyword_judge: stdin is not JSON: {e}", file=sys.stderr)
        return 2
    json.dump(judge(call, args.threshold), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
