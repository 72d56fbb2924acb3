#!/usr/bin/env python3
"""Writes the training set of the shipped lexicon (rules/default-lexicon.toml)
as JSONL on standard output: every message of tests/corpus/labelled.toml, and
the `dev` split of tests/corpus/real/*.jsonl. Never the held-out split."""
import glob
import json
import os
import tomllib

ROOT = os.path.join(os.path.dirname(__file__), "..")

with open(os.path.join(ROOT, "labelled.toml"), "rb") as handle:
    for message in tomllib.load(handle)["message"]:
        print(json.dumps({"subject": message["subject"], "text": message["body"], "side": message["side"],
                          "category": message["category"], "split": "dev"}))
for path in sorted(glob.glob(os.path.join(ROOT, "real", "*.jsonl"))):
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["split"] == "dev":
                print(json.dumps({"text": record["text"], "subject": record.get("subject", ""),
                                  "side": record["side"], "split": "dev"}))
