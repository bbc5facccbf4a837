#!/usr/bin/env python3
"""Check tok-encode against the reference encodings in $TOKEMB_DATA:
reference/tokenizer-expected/*.jsonl and reference/llama.cpp-vocab-tests.
Usage: bench/tok-exact.py [NAME...]   (prints mismatches and a summary)"""
import json, os, subprocess, sys

D = os.environ.get('TOKEMB_DATA', os.path.join(os.path.dirname(__file__), '../../shared/data'))
BIN = os.environ.get('TOKEMB_BIN', os.path.join(os.path.dirname(__file__), '../build/bin'))
E = D + '/reference/tokenizer-expected/'
CASES = {  # expected file -> (model, keys)
    'all-MiniLM-L6-v2': 'tokenizers/all-MiniLM-L6-v2',
    'bert-base-uncased': 'tokenizers/bert-base-uncased',
    'gemma3': 'tokenizers/gemma3',
    'gpt-4-cl100k-hf': 'tokenizers/gpt-4-cl100k-hf',
    'gpt-4o-hf': 'tokenizers/gpt-4o-hf',
    'gpt2': 'tokenizers/gpt2/tokenizer.json',
    'llama3': 'tokenizers/llama3/tokenizer.json',
    'phi-3-mini': 'tokenizers/phi-3-mini',
    'qwen3': 'tokenizers/qwen3',
    't5-small': 'tokenizers/t5-small',
    'sentencepiece-llama2': 'tokenizers/llama2/tokenizer.model',
    'tiktoken-cl100k_base': 'tokenizers/tiktoken/cl100k_base.tiktoken',
    'tiktoken-o200k_base': 'tokenizers/tiktoken/o200k_base.tiktoken',
    'tiktoken-p50k_base': 'tokenizers/tiktoken/p50k_base.tiktoken',
    'tiktoken-r50k_base': 'tokenizers/tiktoken/r50k_base.tiktoken',
}
LLAMACPP = {
    'ggml-vocab-bert-bge': 'tokenizers/bert-base-uncased',
    'ggml-vocab-gpt-2': 'tokenizers/gpt2/tokenizer.json',
    'ggml-vocab-llama-bpe': 'tokenizers/llama3/tokenizer.json',
    'ggml-vocab-phi-3': 'tokenizers/phi-3-mini',
    'ggml-vocab-qwen2': 'tokenizers/qwen3',
    'ggml-vocab-llama-spm': 'tokenizers/phi-3-mini',
    'gguf:ggml-vocab-bert-bge': 'tokenizers/gguf-vocab/ggml-vocab-bert-bge.gguf',
    'gguf:ggml-vocab-gpt-2': 'tokenizers/gguf-vocab/ggml-vocab-gpt-2.gguf',
    'gguf:ggml-vocab-llama-spm': 'tokenizers/gguf-vocab/ggml-vocab-llama-spm.gguf',
    'gguf:ggml-vocab-phi-3': 'tokenizers/gguf-vocab/ggml-vocab-phi-3.gguf',
    'gguf:ggml-vocab-starcoder': 'tokenizers/gguf-vocab/ggml-vocab-starcoder.gguf',
}

def enc(model, texts, *opts):
    if any('\0' in t for t in texts):  # NUL cannot travel with -z: line mode for those
        res = [None] * len(texts)
        z = [i for i, t in enumerate(texts) if '\0' not in t]
        got, err = enc(model, [texts[i] for i in z], *opts)
        if got is None:
            return None, err
        for i, g in zip(z, got):
            res[i] = g
        for i, t in enumerate(texts):
            if '\0' in t:
                r = subprocess.run([BIN + '/tok-encode', '-m', D + '/' + model, *opts],
                                   input=t.encode() + b'\n', capture_output=True)
                res[i] = [int(x) for x in r.stdout.split()]
        return res, ''
    inp = b''.join(t.encode('utf-8', 'surrogatepass') + b'\0' for t in texts)
    r = subprocess.run([BIN + '/tok-encode', '-z', '-m', D + '/' + model, *opts],
                       input=inp, capture_output=True)
    if r.returncode:
        return None, r.stderr.decode()
    out = r.stdout.split(b'\0')[:-1]
    return [[int(x) for x in o.split()] for o in out], ''

def dec(model, ids, *opts, nul=()):
    if nul:  # texts with NUL cannot travel with -z: one call each
        z = [i for i in range(len(ids)) if i not in nul]
        got, err = dec(model, [ids[i] for i in z], *opts)
        if got is None:
            return None, err
        res = [None] * len(ids)
        for i, g in zip(z, got):
            res[i] = g
        for i in nul:
            r = subprocess.run([BIN + '/tok-decode', '-m', D + '/' + model, *opts],
                               input=(' '.join(map(str, ids[i])) + '\n').encode(), capture_output=True)
            res[i] = r.stdout.decode('utf-8', 'replace')[:-1]
        return res, ''
    inp = ''.join(' '.join(map(str, i)) + '\0' for i in ids).encode()
    r = subprocess.run([BIN + '/tok-decode', '-z', '-m', D + '/' + model, *opts],
                       input=inp, capture_output=True)
    if r.returncode:
        return None, r.stderr.decode()
    return [o.decode('utf-8', 'replace') for o in r.stdout.split(b'\0')[:-1]], ''

total = bad = 0
only = sys.argv[1:]
for name, model in CASES.items():
    if only and name not in only:
        continue
    rows = [json.loads(l) for l in open(E + name + '.jsonl')]
    texts = [r['text'] for r in rows]
    if 'ids_ordinary' in rows[0]:
        checks = [('ids_ordinary', ()), ('ids_allow_special', ('--allow-special',))]
    elif 'ids_with_special' in rows[0]:
        checks = [('ids', ('--no-special',)), ('ids_with_special', ())]
    else:
        checks = [('ids', ())]
    for key, opts in checks:
        got, err = enc(model, texts, *opts)
        for i, r in enumerate(rows):
            total += 1
            if got is None or got[i] != r[key]:
                bad += 1
                print(f'FAIL {name} {key} #{i} {texts[i][:40]!r}\n  want {r[key][:30]}\n  got  {got[i][:30] if got else err}')
    if 'decoded_skip_special' in rows[0]:
        got, err = dec(model, [r['ids_with_special'] for r in rows], '--skip-special')
        for i, r in enumerate(rows):
            total += 1
            if got is None or got[i] != r['decoded_skip_special']:
                bad += 1
                print(f'FAIL {name} decode #{i}\n  want {r["decoded_skip_special"][:60]!r}\n  got  {got[i][:60] if got else err!r}')
    if 'decoded' in rows[0]:
        got, err = dec(model, [r['ids'] for r in rows])
        for i, r in enumerate(rows):
            total += 1
            if got is None or got[i] != r['decoded']:
                bad += 1
                print(f'FAIL {name} decode #{i}\n  want {r["decoded"][:60]!r}\n  got  {got[i][:60] if got else err!r}')
G = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../t/data/tok/expected/')
GEN = {'hf-' + n: 'tokenizers/' + n for n in ['all-MiniLM-L6-v2', 'all-mpnet-base-v2', 'bert-base-uncased',
       'gemma3', 'gpt-4-cl100k-hf', 'gpt-4o-hf', 'gpt2', 'llama3', 'phi-3-mini', 'qwen3', 't5-small']}
GEN.update({'tt-' + n: 'tokenizers/tiktoken/%s.tiktoken' % n for n in ['cl100k_base', 'o200k_base', 'p50k_base', 'r50k_base']})
GEN['tt-llama3-original'] = 'tokenizers/llama3/original_tokenizer.model'
GEN['spm-llama2'] = 'tokenizers/llama2/tokenizer.model'
GEN['hf-gpt2'] = 'tokenizers/gpt2/tokenizer.json'
GEN['hf-llama3'] = 'tokenizers/llama3/tokenizer.json'
for name, model in GEN.items():
    if only and name not in only:
        continue
    rows = [json.loads(l) for l in open(G + name + '.jsonl')]
    texts = [r['text'] for r in rows]
    for key, opts in [('ids', ('--no-special',)), ('ids_with_special', ()), ('ids_ordinary', ()), ('ids_allow_special', ('--allow-special',))]:
        if key not in rows[0]:
            continue
        got, err = enc(model, texts, *opts)
        for i, r in enumerate(rows):
            total += 1
            if got is None or got[i] != r[key]:
                bad += 1
                print(f'FAIL {name} {key} #{i} {texts[i][:40]!r}\n  want {r[key][:30]}\n  got  {got[i][:30] if got else err}')
    for key, ikey, opts in [('decoded_skip_special', 'ids_with_special', ('--skip-special',)), ('decoded', 'ids', ())]:
        if key not in rows[0]:
            continue
        got, err = dec(model, [r[ikey] for r in rows], *opts, nul={i for i, r in enumerate(rows) if '\0' in r[key]})
        for i, r in enumerate(rows):
            total += 1
            if got is None or got[i] != r[key]:
                bad += 1
                print(f'FAIL {name} decode #{i}\n  want {r[key][:60]!r}\n  got  {got[i][:60] if got else err!r}')
L = D + '/reference/llama.cpp-vocab-tests/'
for name, model in LLAMACPP.items():
    if only and name not in only:
        continue
    fname = name.split(':')[-1]
    texts = open(L + fname + '.gguf.inp', encoding='utf-8').read().split('\n__ggml_vocab_test__\n')[:-1]
    want = [[int(x) for x in l.split()] for l in open(L + fname + '.gguf.out', encoding='utf-8').read().split('\n')[:len(texts)]]
    got, err = enc(model, texts, '--no-special')
    for i in range(len(texts)):
        total += 1
        if got is None or got[i] != want[i]:
            bad += 1
            print(f'FAIL {name} #{i} {texts[i][:40]!r}\n  want {want[i][:30]}\n  got  {got[i][:30] if got else err}')
print(f'{total - bad}/{total} match')
sys.exit(1 if bad else 0)
