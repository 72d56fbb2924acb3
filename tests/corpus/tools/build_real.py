#!/usr/bin/env python3
"""Builds tests/corpus/real/<source>.jsonl from raw public data sets.

Usage: build_real.py RAW_DIR OUT_DIR

RAW_DIR holds the raw files exactly as published (see tests/corpus/README.md
for where each comes from):
  clinc_full.json          CLINC150 data/data_full.json
  amazon.txt, yelp.txt     UCI Sentiment Labelled Sentences
                           (amazon_cells_labelled.txt, yelp_labelled.txt)
  cfpb_*.csv               CFPB Consumer Complaint Database exports
  minibar_*.en.csv         Mini-BAR dataset/for_classification/<App>.en.csv
                           (saved as minibar_<App>.en.csv)
  vanvliet_p3.xlsx         P3-Golden.xlsx of the RE'21 feedback-classification
                           artifact (needs the openpyxl package)

If the raw files of a source are absent, its existing OUT_DIR/<source>.jsonl is
kept unchanged and only read (so later sources are still deduplicated against
it); this lets a new source be added without re-downloading the older ones.

The side of every message comes only from the source's own label through the
fixed mappings below; items whose label is not in a mapping are dropped. The
dev/heldout split is a pure function of the text: sha256 of the normalised
text, first byte even -> dev, odd -> heldout.
"""
import csv
import glob
import hashlib
import json
import os
import re
import sys

MAX_CHARS = 2000
MIN_WORDS = 3

# ---------------------------------------------------------------------------
# Label -> side mappings (the only place sides come from)
# ---------------------------------------------------------------------------

# CLINC150 intents (banking / credit_cards / travel domains). Only intents
# whose meaning is clearly one side are used; every other intent is dropped.
CLINC_SIDE = {
    # something went wrong / security: needs help now
    "report_fraud": "reactive",
    "freeze_account": "reactive",
    "account_blocked": "reactive",
    "report_lost_card": "reactive",
    "damaged_card": "reactive",
    "card_declined": "reactive",
    "lost_luggage": "reactive",
    # how-to, information, purchase / upgrade interest
    "new_card": "proactive",
    "credit_limit_change": "proactive",
    "redeem_rewards": "proactive",
    "rewards_balance": "proactive",
    "apr": "proactive",
    "interest_rate": "proactive",
    "international_fees": "proactive",
    "improve_credit_score": "proactive",
    "routing": "proactive",
    "pin_change": "proactive",
    "order_checks": "proactive",
}

# UCI Sentiment Labelled Sentences: 0 = negative, 1 = positive.
UCI_SIDE = {"0": "reactive", "1": "proactive"}

# CFPB: every record is a complaint a consumer filed about a financial
# product or service; the Product field is the source's label. All products
# map to reactive (there is no proactive label in this source).
CFPB_SIDE_ALL = "reactive"

# Mini-BAR (Wei et al., ICTAI 2023) English Google Play reviews of three
# health / fitness apps. Each review carries three 0/1 labels of its own:
# problem_report, feature_request, irrelevant. A review labelled with exactly
# one of problem_report / feature_request is kept; reviews labelled with both,
# or irrelevant, or nothing, are dropped.
MINIBAR_SIDE = {"problem_report": "reactive", "feature_request": "proactive"}

# van Vliet et al. / Mekala et al. app-review sentences, task P3 (quality
# aspect of a requirement). Only the two aspects whose meaning is clearly one
# side are used; "quality" (user-friendliness / general quality, praise and
# complaints alike), "performance" (likewise) and "none" are dropped.
VANVLIET_SIDE = {"Stability": "reactive", "feature": "proactive"}


def norm(text):
    return re.sub(r"\s+", " ", text.lower()).strip()


def digest(text):
    return hashlib.sha256(norm(text).encode("utf-8")).digest()


def split_of(text):
    return "dev" if digest(text)[0] % 2 == 0 else "heldout"


def clean(text):
    return re.sub(r"\s+", " ", text).strip()


def keep(text):
    return len(text.split()) >= MIN_WORDS and len(text) <= MAX_CHARS


def finish(source, items, per_side_cap, seen_global):
    """Dedupe, filter, cap per side by hash order, assign ids and splits."""
    by_side = {"reactive": [], "proactive": []}
    seen = set()
    for text, side, label in items:
        text = clean(text)
        if not keep(text):
            continue
        key = norm(text)
        if key in seen or key in seen_global:
            continue
        seen.add(key)
        by_side[side].append((digest(text).hex(), text, side, label))
    out = []
    for side in ("reactive", "proactive"):
        rows = sorted(by_side[side])[: per_side_cap[side]]
        out.extend(rows)
    out.sort()  # hash order, so sides are interleaved deterministically
    records = []
    for n, (_, text, side, label) in enumerate(out, 1):
        seen_global.add(norm(text))
        records.append({"id": f"{source}-{n}", "text": text, "side": side, "label": label, "split": split_of(text)})
    return records


def load_clinc(raw):
    data = json.load(open(os.path.join(raw, "clinc_full.json"), encoding="utf-8"))
    for part in ("train", "val", "test"):
        for text, intent in data[part]:
            side = CLINC_SIDE.get(intent)
            if side:
                yield text, side, intent


def load_uci(raw, name):
    with open(os.path.join(raw, name), encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" not in line:
                continue
            text, score = line.rsplit("\t", 1)
            side = UCI_SIDE.get(score.strip())
            if side:
                yield text, side, score.strip()


def load_cfpb(raw):
    csv.field_size_limit(10**9)
    for path in sorted(glob.glob(os.path.join(raw, "cfpb_*.csv"))):
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.DictReader(f):
                if None in row or any(v is None for v in row.values()):
                    continue  # a truncated or malformed record
                # some exports spell the headers with underscores
                row = {k.replace("_", " "): v for k, v in row.items()}
                text = (row.get("Consumer complaint narrative") or "").strip()
                product = (row.get("Product") or "").strip()
                if not text or not product:
                    continue
                # CFPB redacts personal data as XXXX; keep as published.
                yield text, CFPB_SIDE_ALL, product


def load_minibar(raw):
    for path in sorted(glob.glob(os.path.join(raw, "minibar_*.en.csv"))):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("ori_lang") != "en":
                    continue
                on = [k for k in MINIBAR_SIDE if row.get(k, "").strip() == "1"]
                if len(on) != 1 or row.get("irrelevant", "").strip() == "1":
                    continue
                yield row["data"], MINIBAR_SIDE[on[0]], on[0]


def load_vanvliet(raw):
    import openpyxl  # only this source needs it

    wb = openpyxl.load_workbook(os.path.join(raw, "vanvliet_p3.xlsx"), read_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = next(rows)
    ti, li = header.index("reviews"), header.index("labels")
    for row in rows:
        text, label = row[ti], row[li]
        if not isinstance(text, str) or label not in VANVLIET_SIDE:
            continue
        yield text, VANVLIET_SIDE[label], label


def have(raw, pattern):
    return bool(glob.glob(os.path.join(raw, pattern)))


def keep_existing(out_dir, source, seen):
    path = os.path.join(out_dir, f"{source}.jsonl")
    with open(path, encoding="utf-8") as f:
        for line in f:
            seen.add(norm(json.loads(line)["text"]))
    print(source, "raw files absent: kept existing", path)


def write(out_dir, source, records):
    path = os.path.join(out_dir, f"{source}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {}
    for r in records:
        counts[(r["side"], r["split"])] = counts.get((r["side"], r["split"]), 0) + 1
    print(source, len(records), sorted(counts.items()))


def main():
    raw, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    seen = set()
    # (source, raw file pattern, loader, per-side caps), in dedupe order
    sources = [
        ("clinc150", "clinc_full.json", lambda: load_clinc(raw), {"reactive": 300, "proactive": 300}),
        ("uci-amazon", "amazon.txt", lambda: load_uci(raw, "amazon.txt"), {"reactive": 200, "proactive": 200}),
        ("uci-yelp", "yelp.txt", lambda: load_uci(raw, "yelp.txt"), {"reactive": 200, "proactive": 200}),
        ("cfpb", "cfpb_*.csv", lambda: load_cfpb(raw), {"reactive": 350, "proactive": 0}),
        ("minibar", "minibar_*.en.csv", lambda: load_minibar(raw), {"reactive": 250, "proactive": 250}),
        ("vanvliet-p3", "vanvliet_p3.xlsx", lambda: load_vanvliet(raw), {"reactive": 250, "proactive": 250}),
    ]
    for source, pattern, loader, caps in sources:
        if have(raw, pattern):
            write(out_dir, source, finish(source, loader(), caps, seen))
        else:
            keep_existing(out_dir, source, seen)


if __name__ == "__main__":
    main()
