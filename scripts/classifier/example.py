#!/usr/bin/env python3
"""Example Causerie classifier (specs/moderation.md section 6). Python 3.11, standard library only.

The node starts this program and writes one JSON request per line on its stdin:
  {"id", "room", "author", "kind", "content", "attestation", "source", "received_ms"}
and reads one JSON answer per line on its stdout, matched by id:
  {"id": ..., "decision": "accept" | "reject" | "hold" | "labels", "reason": ..., "labels": [...]}

Heuristics, first match wins:
  1. a blocked phrase (case-insensitive, spacing and punctuation ignored)  -> reject
  2. the same text from the same author N times within W seconds            -> reject
  3. a link from an account attested less than M minutes ago                -> hold
  4. shouting (mostly capital letters)                                      -> labels ["shouting"]
  otherwise accept.

Options:
  --block PHRASE        add a blocked phrase (repeatable); defaults to a short list
  --repeat-limit N      identical messages allowed in the window (default 3)
  --repeat-window S     window in seconds (default 60)
  --new-account-minutes M   accounts younger than this may not post links (default 10)

Every request is answered at once, in order; a request it cannot read is answered "accept"
when its id can be read, and skipped otherwise (the node then applies the room's fail mode).
"""

import argparse
import collections
import json
import re
import sys

DEFAULT_BLOCKED = ["buy followers", "free crypto giveaway", "send me your password"]
LINK = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
# Most authors remembered for the repeated-text check; the oldest are forgotten first.
MAX_AUTHORS = 10_000
# Most recent messages remembered per author.
MAX_RECENT = 32


def normalise(text):
    """Lower case, letters and digits only: 'B.u-y  F0llowers' and 'buy followers' compare equal
    after the leetspeak map."""
    leet = str.maketrans("013457@$", "oleastas")
    return re.sub(r"[^a-z0-9]+", "", text.lower().translate(leet))


class Classifier:
    def __init__(self, blocked, repeat_limit, repeat_window_ms, new_account_ms):
        self.blocked = [(phrase, normalise(phrase)) for phrase in blocked]
        self.repeat_limit = repeat_limit
        self.repeat_window_ms = repeat_window_ms
        self.new_account_ms = new_account_ms
        self.recent = collections.OrderedDict()

    def repeated(self, author, text, now_ms):
        key = normalise(text)
        history = self.recent.pop(author, collections.deque(maxlen=MAX_RECENT))
        self.recent[author] = history
        while len(self.recent) > MAX_AUTHORS:
            self.recent.popitem(last=False)
        same = sum(1 for (t, k) in history if k == key and now_ms - t <= self.repeat_window_ms)
        history.append((now_ms, key))
        return same >= self.repeat_limit

    def decide(self, request):
        content = request.get("content") or {}
        body = content.get("body") if isinstance(content, dict) else None
        if not isinstance(body, str):
            return {"decision": "accept"}
        flat = normalise(body)
        for phrase, key in self.blocked:
            if key and key in flat:
                return {"decision": "reject", "reason": f"blocked phrase: {phrase}"}
        now_ms = int(request.get("received_ms") or 0)
        if self.repeated(request.get("author", ""), body, now_ms):
            return {"decision": "reject", "reason": "repeated text"}
        attestation = request.get("attestation") or {}
        issued = attestation.get("not_before_ms") if isinstance(attestation, dict) else None
        if LINK.search(body) and (issued is None or now_ms - int(issued) < self.new_account_ms):
            return {"decision": "hold", "reason": "link from a new account"}
        letters = [c for c in body if c.isalpha()]
        if len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.8 * len(letters):
            return {"decision": "labels", "labels": ["shouting"], "reason": "mostly capital letters"}
        return {"decision": "accept"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", action="append", default=None)
    parser.add_argument("--repeat-limit", type=int, default=3)
    parser.add_argument("--repeat-window", type=float, default=60.0)
    parser.add_argument("--new-account-minutes", type=float, default=10.0)
    args = parser.parse_args()
    classifier = Classifier(
        args.block if args.block is not None else DEFAULT_BLOCKED,
        args.repeat_limit,
        int(args.repeat_window * 1000),
        int(args.new_account_minutes * 60_000),
    )
    for line in sys.stdin:
        try:
            request = json.loads(line)
            request_id = request["id"]
        except (ValueError, KeyError, TypeError):
            continue
        try:
            answer = classifier.decide(request)
        except Exception as error:  # a bug here must not stop the classifier
            print(f"cannot classify {request_id}: {error!r}", file=sys.stderr, flush=True)
            answer = {"decision": "accept"}
        answer["id"] = request_id
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
