#!/usr/bin/env python3
"""Builds tests/corpus/real/dabrowski-is22.jsonl and womens-clothing.jsonl (and,
when its raw files are present, an ODbL HINT3 file that is NOT committed).

Usage: build_all.py [RAW_DIR] [OUT_DIR] [EXISTING_CORPUS_DIR]
  defaults: ./raw  .  tests/corpus/real

RAW_DIR holds the raw files exactly as published (see README.md for where each
comes from and its SHA-256):
  is22/Ground_truth.xlsx
      Dabrowski et al., IS-22 replication package, "Study 1 - Opinion Mining/
      Dataset/Ground truth - annotated reviews/Ground_truth.xlsx" (needs openpyxl)
  clothing/womens_clothing_ecommerce_reviews_first1000.csv
      "Womens Clothing E-Commerce Reviews.csv" as committed (first 1,000 rows of
      the Kaggle file) in github.com/fehimkus/machine-learning
  hint3/{curekart,powerplay11,sofmattress}_test_v2.csv
      HINT3 dataset/v2/test/<bot>_test.csv (ODbL: written to OUT_DIR/optional/)

The same rules as tests/corpus/tools/build_real.py (fixed before any tuning):
side comes only from the source's own label through the fixed mappings below;
whitespace runs collapsed; texts of fewer than 3 words or more than 2,000
characters dropped; exact duplicates by normalised text dropped (within a
source, across these new sources in the order below, and against every text
already in EXISTING_CORPUS_DIR/*.jsonl); each side capped at 250 by smallest
SHA-256 of the normalised text; split = first byte of that SHA-256 even -> dev,
odd -> heldout.
"""
import csv
import glob
import json
import os
import sys

CAP = {"reactive": 250, "proactive": 250}

# ---------------------------------------------------------------------------
# Label -> side mappings (the only place sides come from)
# ---------------------------------------------------------------------------

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

# HINT3 (test sets, real user queries to three live customer-service chatbots).
# Only intents whose meaning is clearly one side are used; all others
# (NO_NODES_DETECTED, ORDER_STATUS, CHAT_WITH_AGENT, WINNINGS, ...) are dropped.
HINT3_SIDE = {
    "curekart": {
        "CANCEL_ORDER": "reactive",
        "DELAY_IN_PARCEL": "reactive",
        "REFUNDS_RETURNS_REPLACEMENTS": "reactive",
        "RECOMMEND_PRODUCT": "proactive",
        "ORDER_TAKING": "proactive",
        "CHECK_PINCODE": "proactive",
        "STORE_INFORMATION": "proactive",
        "FRANCHISE": "proactive",
        "EXPIRY_DATE": "proactive",
        "ORIGINAL_PRODUCT": "proactive",
        "CONSULT_START": "proactive",
        "SIGN_UP": "proactive",
        "USER_GOAL_FORM": "proactive",
    },
    "sofmattress": {
        "CANCEL_ORDER": "reactive",
        "DELAY_IN_DELIVERY": "reactive",
        "RETURN_EXCHANGE": "reactive",
        "100_NIGHT_TRIAL_OFFER": "proactive",
        "ABOUT_SOF_MATTRESS": "proactive",
        "CHECK_PINCODE": "proactive",
        "COD": "proactive",
        "COMPARISON": "proactive",
        "DISTRIBUTORS": "proactive",
        "EMI": "proactive",
        "ERGO_FEATURES": "proactive",
        "LEAD_GEN": "proactive",
        "MATTRESS_COST": "proactive",
        "OFFERS": "proactive",
        "ORTHO_FEATURES": "proactive",
        "PILLOWS": "proactive",
        "PRODUCT_VARIANTS": "proactive",
        "SIZE_CUSTOMIZATION": "proactive",
        "WHAT_SIZE_TO_ORDER": "proactive",
    },
    "powerplay11": {
        "POINTS_NOT_UPDATED": "reactive",
        "WRONG_SCORES": "reactive",
        "ACCOUNT_BALANCE_DEDUCTED": "reactive",
        "DEDUCTED_AMOUNT_NOT_RECEIVED": "reactive",
        "CANNOT_SEE_JOINED_CONTESTS": "reactive",
        "REFUND_OF_ADDED_CASH": "reactive",
        "REFUND_OF_WRONG_AMOUNT": "reactive",
        "LESS_WINNINGS_AMOUNT": "reactive",
        "NO_EMAIL_CONFIRMATION": "reactive",
        "PAN_VERIFICATION_FAILED": "reactive",
        "ACCOUNT_NOT_VERIFIED": "reactive",
        "FAKE_TEAMS": "reactive",
        "CRITICISM": "reactive",
        "OFFERS_AND_REFERRALS": "proactive",
        "CASH_BONUS": "proactive",
        "CASH_BONUS_EXPIRY": "proactive",
        "TYPES_BONUS": "proactive",
        "SIGNUP_BONUS": "proactive",
        "TYPES_CONTESTS": "proactive",
        "HOW_TO_PLAY": "proactive",
        "HOW_POINTS_CALCULATED": "proactive",
        "JOIN_CONTEST": "proactive",
        "NEW_TEAM_PATTERN": "proactive",
        "TEAM_DEADLINE": "proactive",
        "WHAT_IF_THERES_A_TIE": "proactive",
        "TAXES_ON_WINNINGS": "proactive",
        "WITHDRAWAL_INTRO": "proactive",
        "INSTANT_WITHDRAWAL": "proactive",
        "WITHDRAWAL_TIME": "proactive",
        "WITHDRAW_CASH_BONUS": "proactive",
        "DOWNLOAD_POWERPLAY11": "proactive",
        "CHANGE_MOBILE_NUMBER": "proactive",
        "CHANGE_BANK_ACCOUNT": "proactive",
        "CHANGE_PROFILE_TEAM_DETAILS": "proactive",
        "CHECK_WALLET_BALANCE": "proactive",
        "APPRECIATION": "proactive",
    },
}


# The normalisation, split rule and filters are build_real.py's, so every
# corpus file splits and filters alike.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_real import clean, digest, keep, norm, split_of  # noqa: E402


def finish(source, items, seen_global):
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
        out.extend(sorted(by_side[side])[: CAP[side]])
    out.sort()  # hash order, so sides are interleaved deterministically
    records = []
    for n, (_, text, side, label) in enumerate(out, 1):
        seen_global.add(norm(text))
        records.append({"id": f"{source}-{n}", "text": text, "side": side, "label": label, "split": split_of(text)})
    return records


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


def load_hint3(raw):
    for bot in ("curekart", "powerplay11", "sofmattress"):
        path = os.path.join(raw, "hint3", f"{bot}_test_v2.csv")
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                label = (row.get("label") or "").strip()
                side = HINT3_SIDE[bot].get(label)
                if side:
                    yield row["sentence"], side, label


def write(path, records):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {}
    for r in records:
        counts[(r["side"], r["split"])] = counts.get((r["side"], r["split"]), 0) + 1
    print(os.path.basename(path), len(records), sorted(counts.items()))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    raw = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "raw")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else here
    existing = sys.argv[3] if len(sys.argv) > 3 else "tests/corpus/real"
    seen = set()
    for path in sorted(glob.glob(os.path.join(existing, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                seen.add(norm(json.loads(line)["text"]))
    print("texts already in the existing corpus:", len(seen))
    # (output path, source name, loader), in dedupe order
    sources = [
        (os.path.join(out_dir, "dabrowski-is22.jsonl"), "dabrowski-is22", lambda: load_is22(raw)),
        (os.path.join(out_dir, "womens-clothing.jsonl"), "womens-clothing", lambda: load_clothing(raw)),
        (os.path.join(out_dir, "optional", "hint3.jsonl"), "hint3", lambda: load_hint3(raw)),
    ]
    for path, source, loader in sources:
        write(path, finish(source, loader(), seen))


if __name__ == "__main__":
    main()
