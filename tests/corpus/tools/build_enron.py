#!/usr/bin/env python3
"""Selects the Enron email sample for the segmentation accuracy test.

Usage: build_enron.py MBOX_DIR OUT.jsonl

MBOX_DIR holds one mbox file per maildir folder of the CMU Enron corpus
(enron_mail_20150507), named `enron.<mailbox>.<folder>`, as converted in
https://github.com/jpvance123/Amdocs_ML_Email_Analytics (MailDir_to_MBOX/enron/).

Writes one JSON object a line with `id`, `mailbox`, `folder`, `split` and
`body`, and an empty `labels` field: the labels are written by hand afterwards
(see tests/corpus/README.md). The selection is deterministic; see SELECTION.
"""
import hashlib
import json
import os
import re
import sys

# Bodies longer than this (bytes, after normalisation) or with more lines are
# skipped, so that every selected email can be read and labelled by hand.
MAX_BYTES = 4000
MAX_LINES = 60
MIN_BYTES = 40
# Most emails taken from one mailbox (custodian), so the sample spreads
# across many writers and mail clients.
PER_MAILBOX = 2
# How many of each stratum to take.
WITH_THREAD = 120
WITHOUT_THREAD = 45
# Second round (added later, to grow the sample without changing the first
# 165): the walk goes on in the same hash order over the candidates not yet
# taken, again at most PER_MAILBOX per mailbox (so at most 4 in all), taking
# only emails *with* a thread, until this many more are taken.
MORE_WITH_THREAD = 125
# Third round (added later still, same idea): the walk goes on again over the
# candidates taken by neither round above, at most PER_MAILBOX more per
# mailbox (so at most 6 in all), only emails *with* a thread, until this many
# more are taken.
THIRD_WITH_THREAD = 150
# Fourth round (after the fixes made on the third round's dev misses had
# left almost no dev misses to learn from): the same again, at most
# PER_MAILBOX more per mailbox (so at most 8 in all), until this many more.
FOURTH_WITH_THREAD = 150
# Fifth round, decided in advance to be the last of its session: the same
# again, at most PER_MAILBOX more per mailbox (so at most 10 in all), until
# this many more.
FIFTH_WITH_THREAD = 150

# A body "has a thread" when it shows any reply/forward structure.
THREAD = re.compile(
    r"(-----\s*Original Message\s*-----"
    r"|Forwarded by "
    r"|-+\s*Forwarded message"
    r"|^\s*>"
    r"|wrote:\s*$"
    r"|^\s*(From|To|Sent|cc|Subject):)",
    re.IGNORECASE | re.MULTILINE,
)


def messages(path):
    """Raw messages of an mbox file (separator lines `From MAILER-DAEMON ...`)."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    for chunk in re.split(r"^From MAILER-DAEMON [^\n]*\n", raw, flags=re.MULTILINE):
        if chunk.strip():
            yield chunk


def body_of(message):
    """The body after the header block, with mbox `>From ` quoting undone,
    CRLF as LF, and trailing whitespace at the end of the body removed."""
    _, _, body = message.partition("\n\n")
    body = body.replace("\r\n", "\n")
    body = re.sub(r"^>From ", "From ", body, flags=re.MULTILINE)
    return body.rstrip()


def normalised(text):
    return re.sub(r"\s+", " ", text.lower()).strip()


def split_of(body):
    """The selection takes the smallest digests, whose first byte is always
    even; the split looks at the digest's last byte instead."""
    digest = hashlib.sha256(body.encode("utf-8")).digest()
    return "dev" if digest[-1] % 2 == 0 else "heldout"


def more_with_thread(candidates, taken_ids, quota):
    """One later round of the walk: in the same hash order, the candidates
    not in `taken_ids` that have a thread, at most PER_MAILBOX per mailbox,
    until `quota` are taken."""
    per_mailbox = {}
    out = []
    for digest, mailbox, folder, body in candidates:
        if len(out) >= quota:
            break
        if f"enron-{digest[:12]}" in taken_ids or not THREAD.search(body):
            continue
        if per_mailbox.get(mailbox, 0) >= PER_MAILBOX:
            continue
        per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
        out.append(record(digest, mailbox, folder, body))
    return out


def record(digest, mailbox, folder, body):
    """One unlabelled sample line."""
    return {
        "id": f"enron-{digest[:12]}",
        "mailbox": mailbox,
        "folder": folder,
        "split": split_of(body),
        "body": body,
        "labels": "",
    }


def main():
    mbox_dir, out_path = sys.argv[1], sys.argv[2]
    seen = set()
    candidates = []
    for name in sorted(os.listdir(mbox_dir)):
        parts = name.split(".", 2)
        if len(parts) < 3 or parts[0] != "enron":
            continue
        mailbox, folder = parts[1], parts[2]
        for message in messages(os.path.join(mbox_dir, name)):
            if "content-type: text/html" in message[:2000].lower():
                continue
            body = body_of(message)
            size = len(body.encode("utf-8"))
            if not MIN_BYTES <= size <= MAX_BYTES or body.count("\n") + 1 > MAX_LINES:
                continue
            if "<html" in body.lower() or "\ufffd" in body:
                continue
            key = normalised(body)
            if key in seen:
                continue
            seen.add(key)
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
            candidates.append((digest, mailbox, folder, body))
    candidates.sort()
    per_mailbox = {}
    taken = {True: 0, False: 0}
    quota = {True: WITH_THREAD, False: WITHOUT_THREAD}
    out = []
    for digest, mailbox, folder, body in candidates:
        stratum = bool(THREAD.search(body))
        if taken[stratum] >= quota[stratum] or per_mailbox.get(mailbox, 0) >= PER_MAILBOX:
            continue
        per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
        taken[stratum] += 1
        out.append(record(digest, mailbox, folder, body))
    for quota in (
        MORE_WITH_THREAD,
        THIRD_WITH_THREAD,
        FOURTH_WITH_THREAD,
        FIFTH_WITH_THREAD,
    ):
        out.extend(more_with_thread(candidates, {item["id"] for item in out}, quota))
    with open(out_path, "w", encoding="utf-8") as f:
        for item in out:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(candidates)} candidates, {len(out)} taken, {len(per_mailbox)} mailboxes", file=sys.stderr)


if __name__ == "__main__":
    main()
