#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus and dictionary (scripts/fuzz.sh runs it).

Seeds: every .gir file of test/, examples/ and bench/workloads/ without its
comment lines (the lit RUN/CHECK lines), and each of its functions alone.
Dictionary: the op mnemonics of include/gradc/IR/OpKinds.def, the attribute
names of lib/Ops/*.cpp, and the IR's keywords and punctuation.

Usage: make_corpus.py SRC_ROOT CORPUS_DIR DICT_FILE
"""
import hashlib
import os
import re
import sys

root, corpus, dict_file = sys.argv[1:4]
os.makedirs(corpus, exist_ok=True)


def write_seed(text):
    if not text.strip() or len(text) > 8192:
        return 0
    name = hashlib.sha1(text.encode()).hexdigest()
    path = os.path.join(corpus, name)
    if os.path.exists(path):
        return 0
    with open(path, "w") as f:
        f.write(text)
    return 1


count = 0
for top in ("test", "examples", os.path.join("bench", "workloads")):
    for dirpath, _, files in os.walk(os.path.join(root, top)):
        for fn in sorted(files):
            if not fn.endswith(".gir"):
                continue
            with open(os.path.join(dirpath, fn), errors="replace") as f:
                lines = [l for l in f if not l.lstrip().startswith("#")]
            text = "".join(lines)
            count += write_seed(text)
            # Each function alone: smaller seeds, and ones that verify even
            # when another function of the file is an expected error.
            for m in re.finditer(r"^func .*?^}\n", text, re.S | re.M):
                count += write_seed(m.group(0))

ops = re.findall(r'GRADC_OP\(\w+, "(\w+)", \d\)',
                 open(os.path.join(root, "include/gradc/IR/OpKinds.def")).read())
attrs = set()
for fn in os.listdir(os.path.join(root, "lib", "Ops")):
    if fn.endswith(".cpp"):
        src = open(os.path.join(root, "lib", "Ops", fn)).read()
        attrs.update(re.findall(r'\{"(\w+)", Attr::\w+\}', src))
tokens = ["func", "return", "f32", "f64", "true", "false", "nan", "inf", "->",
          " = ", "%", "@", "[", "]", "{", "}", "(", ")", ",", ":", "\\x0a",
          "N", "1", "2", "3", "-1", "0.5", "1e-3", "2147483648"]
with open(dict_file, "w") as f:
    for op in ops:
        f.write(f'"{op}"\n"= {op} "\n')
    for a in sorted(attrs):
        f.write(f'"{a}="\n')
    for t in tokens:
        f.write(f'"{t}"\n')
print(f"{len(os.listdir(corpus))} seeds in {corpus} ({count} new); {len(ops)} "
      f"ops and {len(attrs)} attributes in {dict_file}")
