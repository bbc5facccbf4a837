#!/usr/bin/env python3
"""Write the two tiny tokenizer.json files tok-show's tests use when the real
tokenizers ($TOKEMB_DATA) are absent: a BERT-style WordPiece (lowercasing,
[CLS]/[SEP], [UNK] for what its 100-odd pieces cannot spell) and a GPT-2-style
byte-level BPE (256 byte symbols, a few merges, <|endoftext|>).
Run from this directory: ./make-fixtures.py"""
import json, os

def bytes_to_unicode():
    # GPT-2's byte -> printable character table
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))

def added(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}

def wordpiece():
    words = ["english", "and", "capital", "##ization", "show", "token", "##s", "false",
             "none", "el", "##if", "else", "two", "tab", "four", "space", "##ce", "def",
             "if", "is", "not", "return", "true", "12", "50", "600", "the", "hello", "world"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + list("0123456789") + \
        list(".*=:\"()_,'-!?><") + letters + ["##" + c for c in letters] + words
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(i, t) for i, t in enumerate(vocab[:4])],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
                  "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(vocab)}}}
    return tj

def bytebpe():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: i for i, b in enumerate(range(256))}
    merges = []
    def merge(a, b):
        merges.append(a + " " + b)
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    sp = b2u[ord(" ")]
    for w in ["and", "tokens", "None", "True", "False", "return", "not", "is", "if",
              "else", "elif", "spaces", "tabs", "two", "four"]:
        cur = sp
        for ch in w:
            merge(cur, ch)
            cur += ch
    for w in ["English", "CAP", "ITAL", "def", "show", "_tokens", "12", "50", "600"]:
        cur = w[0]
        for ch in w[1:]:
            merge(cur, ch)
            cur += ch
    nl, tab = b2u[ord("\n")], b2u[ord("\t")]
    merge(sp, sp); merge(sp + sp, sp + sp); merge(tab, tab)
    merge(b2u[0xE9], b2u[0xB8])   # the first two bytes of 鸟, a partial character
    eot = len(vocab)
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(eot, "<|endoftext|>")],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                          "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                    "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges}}
    tj["model"]["vocab"]["<|endoftext|>"] = eot
    return tj

for name, tj in [("tiny-wordpiece", wordpiece()), ("tiny-bytebpe", bytebpe())]:
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
        f.write("\n")
