#!/usr/bin/env python3
"""Writes the training set of the shipped lexicon (rules/default-lexicon.toml)
as JSONL on standard output: every message of tests/corpus/labelled.toml, and
tests/corpus/train/pool.jsonl, which holds every `dev` text of the real-message
sources (the capped dev split of tests/corpus/real/*.jsonl and the dev texts
the caps left out; built by build_pool.py). Never a held-out text.

Regenerate the lexicon with:
  python3 tests/corpus/tools/dev_training_set.py > train.jsonl
  cargo run --release -- rules learn --corpus train.jsonl --split dev \
      --category-terms 0 --max-terms 1500 --min-count 3 --out rules/default-lexicon.toml
"""
import hashlib
import json
import os
import tomllib

ROOT = os.path.join(os.path.dirname(__file__), "..")


def is_dev(text):
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).digest()[0] % 2 == 0


with open(os.path.join(ROOT, "labelled.toml"), "rb") as handle:
    for message in tomllib.load(handle)["message"]:
        print(json.dumps({"subject": message["subject"], "text": message["body"], "side": message["side"],
                          "category": message["category"], "split": "dev"}))
with open(os.path.join(ROOT, "train", "pool.jsonl"), encoding="utf-8") as handle:
    for line in handle:
        record = json.loads(line)
        if record["split"] != "dev" or not is_dev(record["text"]):
            raise SystemExit(f"pool.jsonl holds a text that is not dev: {record['text'][:60]!r}")
        print(json.dumps({"text": record["text"], "side": record["side"], "split": "dev"}))
