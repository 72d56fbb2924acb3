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
    mappings (imported from those two scripts);
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
import glob
import json
import os
import sys

CAP = 1500
DEFAULT_HELDOUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "real", "*.jsonl")


# The label mappings, filters and loaders are those of the scripts that build
# the evaluation files, imported so the pool can never drift from them.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_more import load_clothing, load_is22  # noqa: E402
from build_real import (  # noqa: E402
    clean,
    digest,
    keep,
    load_cfpb,
    load_clinc,
    load_minibar,
    load_uci,
    load_vanvliet,
    norm,
    split_of,
)


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
