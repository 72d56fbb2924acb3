#!/usr/bin/env python3
"""K-fold cross-validation of the default rules with a learned lexicon, on
`dev` texts only (never a held-out text): for each fold, the lexicon is
learned from labelled.toml, the training pool and any extra training files
without that fold's texts, and the default rules with that lexicon classify
the fold's `dev` messages of tests/corpus/real/. Prints per-fold and pooled
side accuracy. Used to choose learning options and training data.

  cargo build --release && cargo test --release --test real_text_accuracy --no-run
  python3 tests/corpus/tools/cross_validate.py [--extra FILE.jsonl ...] [-- LEARN OPTIONS]

Folds are a pure function of the text (second byte of its SHA-256).
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "corpus")
DEFAULT_LEARN = ["--category-terms", "0", "--max-terms", "1500", "--min-count", "3"]


def normalised(text):
    return " ".join(text.lower().split())


def digest(text):
    return hashlib.sha256(normalised(text).encode("utf-8")).digest()


def fold_of(text, folds):
    return digest(text)[1] % folds


def test_binary():
    found = sorted(glob.glob(os.path.join(ROOT, "target", "release", "deps", "real_text_accuracy-*")),
                   key=os.path.getmtime)
    found = [path for path in found if os.access(path, os.X_OK) and not path.endswith(".d")]
    if not found:
        sys.exit("build it first: cargo test --release --test real_text_accuracy --no-run")
    return found[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--extra", action="append", default=[], help="extra training JSONL (text, side)")
    parser.add_argument("learn", nargs="*", help="options for `triage rules learn`")
    args = parser.parse_args()
    learn_options = args.learn or DEFAULT_LEARN

    training = []
    with open(os.path.join(CORPUS, "labelled.toml"), "rb") as handle:
        for message in tomllib.load(handle)["message"]:
            training.append({"subject": message["subject"], "text": message["body"], "side": message["side"]})
    with open(os.path.join(CORPUS, "train", "pool.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            training.append({"text": record["text"], "side": record["side"]})
    extras = []
    for path in args.extra:
        with open(path, encoding="utf-8") as handle:
            extras.extend({"text": r["text"], "side": r["side"]} for r in map(json.loads, handle))

    dev = []
    for path in glob.glob(os.path.join(CORPUS, "real", "*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["split"] == "dev":
                    dev.append(record)
    held_out_texts = set()
    for path in glob.glob(os.path.join(CORPUS, "real", "*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["split"] == "heldout":
                    held_out_texts.add(normalised(record["text"]))
    leaked = [e for e in extras if normalised(e["text"]) in held_out_texts]
    if leaked:
        sys.exit(f"{len(leaked)} extra training texts are held-out texts")

    binary = test_binary()
    triage = os.path.join(ROOT, "target", "release", "triage")
    right = total = 0
    with tempfile.TemporaryDirectory() as work:
        for k in range(args.folds):
            fold_texts = {normalised(m["text"]) for m in dev if fold_of(m["text"], args.folds) == k}
            train_path = os.path.join(work, f"train-{k}.jsonl")
            with open(train_path, "w", encoding="utf-8") as out:
                for record in training + extras:
                    if normalised(record["text"]) not in fold_texts:
                        out.write(json.dumps({**record, "split": "dev"}) + "\n")
            rules_dir = os.path.join(work, f"rules-{k}")
            shutil.copytree(os.path.join(ROOT, "rules"), rules_dir)
            subprocess.run([triage, "rules", "learn", "--corpus", train_path, "--split", "dev",
                            *learn_options, "--out", os.path.join(rules_dir, "default-lexicon.toml")],
                           check=True, capture_output=True)
            ids_path = os.path.join(work, f"ids-{k}.txt")
            with open(ids_path, "w", encoding="utf-8") as out:
                for message in dev:
                    if fold_of(message["text"], args.folds) == k:
                        out.write(message["id"] + "\n")
            env = {**os.environ, "TRIAGE_SHOW_MISSES": os.environ.get("CV_SHOW_MISSES", ""), "TRIAGE_ACCURACY_RULES": os.path.join(rules_dir, "default.toml"),
                   "TRIAGE_ACCURACY_IDS": ids_path}
            report = subprocess.run([binary, "--ignored", "--exact", "measure_candidate_rules", "--nocapture"],
                                    env=env, check=True, capture_output=True, text=True).stdout
            row = re.search(r"^dev/ALL\s+(\d+)\s+([\d.]+)%", report, re.M)
            n, accuracy = int(row.group(1)), float(row.group(2))
            fold_right = round(n * accuracy / 100)
            print(f"fold {k}: {fold_right}/{n} = {accuracy:.1f}%", flush=True)
            for miss in re.findall(r"^MISS .*$", report, re.M):
                print("   " + miss)
            for source_row in re.findall(r"^dev/(\S+)\s+(\d+)\s+([\d.]+)%", report, re.M):
                if source_row[0] != "ALL":
                    print(f"   {source_row[0]:<18} {source_row[1]:>4} {source_row[2]:>6}%")
            right += fold_right
            total += n
    print(f"cross-validated dev side accuracy: {right}/{total} = {100 * right / total:.1f}%")


if __name__ == "__main__":
    main()
