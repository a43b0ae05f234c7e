"""Open-Assistant message trees as ranked examples (listwise JSONL).

Each assistant (or prompter) message with two or more ranked replies becomes one example:
the prompt is the conversation from the root down to that message in HH's turn style
("\\n\\nHuman: …\\n\\nAssistant: …\\n\\nAssistant:" — one format for one model), the
responses are the ranked replies best first (OASST ``rank`` 0 is the best), with no ties.
Unranked siblings (no ``rank`` key), deleted, and (by default) synthetic replies are left
out, and the ranks re-numbered from what is left.

    python -m training.ml.oasst trees.jsonl > listwise.jsonl
"""

import argparse
import json
import sys
from collections.abc import Iterator

ROLES = {"prompter": "Human", "assistant": "Assistant"}


def rankings_of(tree: dict, *, keep_synthetic: bool = False) -> Iterator[dict]:
    def walk(message: dict, history: list[tuple[str, str]]):
        history = [*history, (ROLES.get(message["role"], message["role"]), message["text"])]
        ranked = [
            r
            for r in message.get("replies") or []
            if "rank" in r
            and r.get("rank") is not None
            and not r.get("deleted")
            and (keep_synthetic or not r.get("synthetic"))
        ]
        if len(ranked) >= 2:
            ranked.sort(key=lambda r: r["rank"])
            turn = ROLES.get(ranked[0]["role"], ranked[0]["role"])
            prompt = "".join(f"\n\n{who}: {text}" for who, text in history) + f"\n\n{turn}:"
            yield {
                "prompt": prompt,
                "responses": [r["text"] for r in ranked],
                "ranking": [[n] for n in range(len(ranked))],
                "source": "oasst",
                "id": f"oasst/{tree.get('message_tree_id')}/{message.get('message_id')}",
            }
        for reply in message.get("replies") or []:
            yield from walk(reply, history)

    yield from walk(tree["prompt"], [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.ml.oasst", description=__doc__)
    parser.add_argument("trees", help="Open-Assistant trees, one JSON object per line")
    parser.add_argument("--keep-synthetic", action="store_true", help="keep model-written replies")
    args = parser.parse_args(argv)
    with open(args.trees, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                for row in rankings_of(json.loads(line), keep_synthetic=args.keep_synthetic):
                    sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
