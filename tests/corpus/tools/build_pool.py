#!/usr/bin/env python3
"""Builds the triage TRAINING POOL (dev split only, uncapped up to 1,500/side).

Usage: build_pool.py RAW_DIR OUT            (OUT: the pool .jsonl to write)
       optional env HELDOUT_GLOBS: ':'-separated globs of .jsonl files whose
       `heldout` texts must be excluded (default: the evaluation corpus
       tests/corpus/real/*.jsonl).

RAW_DIR holds the raw files exactly as published (SHA-256 in README.md):
  clinc_full.json
      CLINC150, github.com/clinc/oos-eval  data/data_full.json
      (commit 828f8093932c8fe6ca7936c3d2e52903b1c523de), CC BY 3.0
  amazon.txt, yelp.txt
      UCI Sentiment Labelled Sentences amazon_cells_labelled.txt and
      yelp_labelled.txt, as mirrored unchanged in
      github.com/rushabh7cr/Sentiment-Classifier-using-naive-bayes
      (commit 60b3211cf920faf6ee7e6c68114b3c272cfa4421), CC BY 4.0
  cfpb_a.csv, cfpb_b.csv
      CFPB Consumer Complaint Database exports (public domain):
      a = complaints.csv of github.com/aravindsriraj/Data-Science-Task---Consumer-Complaints
          (commit 1b2ab3cc3b2a58df6fd787dcffb1147df69ce2b2)
      b = Consumer_Complaints.csv of
          github.com/Sravanbunny2002/Text-Classification-on-consumer-complaint-dataset
          (commit 3d5c2c6893a3781155a26b0fb4ca8017a3196eae)
  minibar_<App>.en.csv  (App = Garmin Connect, Huawei Health, Samsung Health)
      Mini-BAR dataset/for_classification/<App>.en.csv,
      github.com/Jl-wei/mini-bar (commit bb6a7cfa064ebb4afbdd3853e7dbe6e31e0d3649), MIT
  vanvliet_p3.xlsx
      data/P3-Golden.xlsx of github.com/Jl-wei/feedback-classification
      (commit 3c9de7a205143ed64937897cc1b47399fb387343), CC BY 4.0 (needs openpyxl)
  is22/Ground_truth.xlsx
      github.com/jsdabrowski/IS-22 (commit 2b685b1442001b665f5275cd29954f13f6a954ec)
      "Study 1 - Opinion Mining/Dataset/Ground truth - annotated reviews/
      Ground_truth.xlsx", MIT 
  clothing/womens_clothing_ecommerce_reviews_first1000.csv
      "Womens Clothing E-Commerce Reviews.csv" (first 1,000 rows of the Kaggle
      data set by nicapotato, CC0) as committed in github.com/fehimkus/machine-learning
      (commit 7d7f5348ae9ef48d0156adc1efba617e71aeadfa) 

A source whose raw files are absent is skipped (reported).

Rules (identical to tests/corpus/tools/build_real.py and
tests/corpus/tools/build_more.py, except for the caps and the dev-only filter):
  * side comes only from the source's own label through the same fixed
    mappings (code copied verbatim from those two scripts);
  * runs of whitespace collapsed; texts of fewer than 3 words or more than
    2,000 characters dropped;
  * exact duplicates by normalised text (lowercase, whitespace collapsed,
    trimmed) dropped, within a source and across sources (a text kept by an
    earlier source is not kept again), in the order clinc150, uci-amazon,
    uci-yelp, cfpb, minibar, vanvliet-p3, dabrowski-is22, womens-clothing;
  * split = SHA-256 of the normalised text, first byte even -> dev, odd ->
    heldout; ONLY dev texts are kept;
  * any text whose normalised form equals a `heldout` text of the files in
    HELDOUT_GLOBS is dropped (the split rule already guarantees none exists;
    the count is printed);
  * then each side of each source is capped at 1,500 by smallest SHA-256 of
    the normalised text (the cap is applied to the dev texts).
Output lines: {"text", "side", "source", "label", "split": "dev"}, in source
order, hash order within a source.
"""
import csv
import glob
import hashlib
import json
import os
import re
import sys

CAP = 1500
MAX_CHARS = 2000
MIN_WORDS = 3
DEFAULT_HELDOUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "real", "*.jsonl")


# ---- copied verbatim from tests/corpus/tools/build_real.py ----
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


# ---- copied verbatim from tests/corpus/tools/build_more.py ----
# Dabrowski et al. (IS-22, Study 1): each review sentence is annotated with the
# app features it mentions, split into three columns by the opinion the user
# expresses about each feature: "Feature (Positive)", "Feature (Neutral)",
# "Feature (Negative)". A sentence with a negative feature opinion and no
# positive one is a complaint about the app -> reactive; a sentence with a
# positive feature opinion and no negative one is praise -> proactive.
# Sentences with both, or with only neutral / no feature opinions, are dropped.
IS22_SIDE = {"negative": "reactive", "positive": "proactive"}

# Women's E-Commerce Clothing Reviews: star rating 1-5 given by the customer.
# 1-2 stars: a complaint about the product -> reactive; 5 stars: praise ->
# proactive; 3-4 stars (mixed) dropped.
CLOTHING_SIDE = {"1": "reactive", "2": "reactive", "5": "proactive"}



def load_is22(raw):
    import openpyxl  # only this source needs it

    wb = openpyxl.load_workbook(os.path.join(raw, "is22", "Ground_truth.xlsx"), read_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = list(next(rows))
    ti = header.index("Sentence content")
    pi = header.index("Feature (Positive)")
    ni = header.index("Feature (Negative)")
    for row in rows:
        text = row[ti]
        if not isinstance(text, str):
            continue
        pos = row[pi] is not None and str(row[pi]).strip() != ""
        neg = row[ni] is not None and str(row[ni]).strip() != ""
        if pos == neg:
            continue  # both, or neither (neutral / no feature opinion)
        label = "negative" if neg else "positive"
        yield text, IS22_SIDE[label], label


def load_clothing(raw):
    path = os.path.join(raw, "clothing", "womens_clothing_ecommerce_reviews_first1000.csv")
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            rating = (row.get("Rating") or "").strip()
            side = CLOTHING_SIDE.get(rating)
            if text and side:
                yield text, side, rating


# ---- end of copied code ----


def heldout_set(globs):
    out, files = set(), []
    for g in globs.split(":"):
        for path in sorted(glob.glob(g)):
            files.append(path)
            with open(path, encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    if r.get("split") == "heldout":
                        out.add(norm(r["text"]))
    return out, files


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    heldout, hfiles = heldout_set(os.environ.get("HELDOUT_GLOBS", DEFAULT_HELDOUT))
    print(f"heldout texts to exclude: {len(heldout)} from {len(hfiles)} files")
    have = lambda pat: bool(glob.glob(os.path.join(raw, pat)))
    sources = [
        ("clinc150", "clinc_full.json", lambda: load_clinc(raw)),
        ("uci-amazon", "amazon.txt", lambda: load_uci(raw, "amazon.txt")),
        ("uci-yelp", "yelp.txt", lambda: load_uci(raw, "yelp.txt")),
        ("cfpb", "cfpb_*.csv", lambda: load_cfpb(raw)),
        ("minibar", "minibar_*.en.csv", lambda: load_minibar(raw)),
        ("vanvliet-p3", "vanvliet_p3.xlsx", lambda: load_vanvliet(raw)),
        ("dabrowski-is22", "is22/Ground_truth.xlsx", lambda: load_is22(raw)),
        ("womens-clothing", "clothing/womens_clothing_ecommerce_reviews_first1000.csv",
         lambda: load_clothing(raw)),
    ]
    seen_global = set()
    records = []
    for source, pattern, loader in sources:
        if not have(pattern):
            print(source, "raw files absent: skipped")
            continue
        by_side = {"reactive": [], "proactive": []}
        seen = set()
        stats = {"candidates": 0, "filtered": 0, "dup": 0, "heldout_split": 0, "heldout_match": 0}
        for text, side, label in loader():
            stats["candidates"] += 1
            text = clean(text)
            if not keep(text):
                stats["filtered"] += 1
                continue
            key = norm(text)
            if key in seen or key in seen_global:
                stats["dup"] += 1
                continue
            seen.add(key)
            if split_of(text) != "dev":
                stats["heldout_split"] += 1
                continue
            if key in heldout:
                stats["heldout_match"] += 1
                continue
            by_side[side].append((digest(text).hex(), text, side, label))
        rows = []
        avail = {}
        for side in ("reactive", "proactive"):
            avail[side] = len(by_side[side])
            rows.extend(sorted(by_side[side])[:CAP])
        rows.sort()
        for _, text, side, label in rows:
            seen_global.add(norm(text))
            records.append({"text": text, "side": side, "source": source, "label": label, "split": "dev"})
        kept = {s: sum(1 for r in rows if r[2] == s) for s in ("reactive", "proactive")}
        print(f"{source}: kept reactive {kept['reactive']} (of {avail['reactive']} dev), "
              f"proactive {kept['proactive']} (of {avail['proactive']} dev); {stats}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tot = {s: sum(1 for r in records if r["side"] == s) for s in ("reactive", "proactive")}
    print(f"total {len(records)}: {tot}")


if __name__ == "__main__":
    main()
