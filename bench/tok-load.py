#!/usr/bin/python3
"""bench/tok-load.py [N]: start-up of tok-encode on every tokenizer under
$TOKEMB_DATA/tokenizers, the whole process `tok-encode -m X </dev/null`:
a first load (no compiled cache yet: from source, and the cache is written)
and a cached load, best of N runs (default 5), wall and CPU time and peak
RSS; beside it the same for Hugging Face tokenizers (npm tokenizers 0.23.2,
`node -e "Tokenizer.fromFile(X)"`) when installed, and the ratio."""
import glob, os, resource, shutil, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = os.path.join(os.environ.get("TOKEMB_DATA", os.path.join(root, "..", "shared", "data")), "tokenizers")
BIN = os.environ.get("TOKEMB_BIN", os.path.join(root, "build", "bin"))
NM = "/opt/tokemb-peers/npm/node_modules"
tmp = tempfile.mkdtemp()
cache = os.path.join(tmp, "cache")
env = dict(os.environ, TOKEMB_CACHE_DIR=cache, NODE_PATH=NM)


def run(cmd, fresh=False):
    """(wall s, cpu s, max RSS MB) of the best of N runs."""
    best = None
    for _ in range(N):
        if fresh:
            shutil.rmtree(cache, ignore_errors=True)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        cpu = ru.ru_utime + ru.ru_stime
        if status:
            return None
        if best is None or wall < best[0]:
            best = (wall, cpu, ru.ru_maxrss / 1024)
    return best


files = sorted(glob.glob(D + "/*/tokenizer.json") + glob.glob(D + "/*/*.tiktoken") +
               glob.glob(D + "/*/*.model") + glob.glob(D + "/*/*.gguf"))
print("%-42s %8s %7s %6s | %8s %7s %6s | %8s %6s" % (
    "tokenizer", "first_ms", "cpu_ms", "MB", "cache_ms", "cpu_ms", "MB", "hf_ms", "hf/c"))
for f in files:
    name = os.path.relpath(f, D)
    first = run([BIN + "/tok-encode", "-m", f], fresh=True)
    run([BIN + "/tok-encode", "-m", f])  # make sure the cache is there
    cached = run([BIN + "/tok-encode", "-m", f])
    hf = None
    if f.endswith(".json") and os.path.isdir(NM + "/tokenizers"):
        hf = run(["node", "-e", "require('tokenizers').Tokenizer.fromFile(%r)" % f])
    if not first or not cached:
        print("%-42s failed" % name)
        continue
    print("%-42s %8.1f %7.1f %6.0f | %8.1f %7.1f %6.0f | %8s %6s" % (
        name, first[0] * 1e3, first[1] * 1e3, first[2], cached[0] * 1e3, cached[1] * 1e3, cached[2],
        "%.1f" % (hf[0] * 1e3) if hf else "-", "%.1f" % (hf[0] / cached[0]) if hf else "-"))
shutil.rmtree(tmp, ignore_errors=True)
