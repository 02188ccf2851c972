"""Speed of sadl.synth on one core: generation alone and generation + PNG writing.

    .venv/bin/python benchmarks/synth_speed.py --n 1000 --size 256 [--results benchmarks/RESULTS.md]

Prints a table; with --results, writes it as the "Synthetic data" section of that file (replacing an
earlier version of the section, leaving the others alone). The target of the issue: 1,000 tiles of
256x256 in under 30 s on one core.
"""
import argparse, os, platform, re, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import cv2
cv2.setNumThreads(1)
try:
    import torch; torch.set_num_threads(1)
except ImportError: pass
from sadl.synth import synth_scene, synth_cd_pair, make_synthetic

SECTION = '## Synthetic data'

def _cpu():
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        m = re.search(r'Model name:\s*(.+)', out)
        if m: return m.group(1).strip()
    except OSError: pass
    return platform.processor() or 'unknown CPU'

def _time(f):
    "(wall seconds, CPU seconds of this process) of f(); CPU time is what one core spends, even on a busy machine."
    t, c = time.perf_counter(), time.process_time(); f()
    return time.perf_counter() - t, time.process_time() - c

def run(n, size, seed=0):
    rows = []
    for kind, gen in (('seg', synth_scene), ('cd', synth_cd_pair)):
        gen(size, seed, 0)                         # warm-up: noise bank, imports
        tg = _time(lambda: [gen(size, seed, i) for i in range(n)])
        with tempfile.TemporaryDirectory() as d:
            tw = _time(lambda: make_synthetic(Path(d)/kind, kind=kind, n=n, size=size, seed=seed, progress=False))
        rows.append((kind, tg, tw))
    return rows

def table(rows, n, size):
    lines = ['| kind | tiles | generation: CPU s (wall s) | ms/tile (CPU) | generation + PNG writing: CPU s (wall s) | ms/tile (CPU) | under 30 s (CPU) |',
             '| --- | ---: | ---: | ---: | ---: | ---: | --- |']
    for kind, (tg, cg), (tw, cw) in rows:
        lines.append(f'| {kind} | {n} x {size}x{size} | {cg:.1f} ({tg:.1f}) | {1e3 * cg / n:.1f} | {cw:.1f} ({tw:.1f}) | {1e3 * cw / n:.1f} | {"yes" if cw < 30 else "no"} |')
    return '\n'.join(lines)

def write_section(path, text):
    path = Path(path)
    old = path.read_text() if path.exists() else '# Benchmark results\n'
    i = old.find(SECTION)
    if i >= 0:
        j = old.find('\n## ', i + len(SECTION))
        old = old[:i].rstrip('\n') + ('\n\n' + old[j + 1:] if j >= 0 else '')
    path.write_text(old.rstrip('\n') + '\n\n' + text.rstrip('\n') + '\n')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='tiles (or pairs) per measurement')
    ap.add_argument('--size', type=int, default=256, help='tile side in pixels')
    ap.add_argument('--results', default=None, help='markdown file to write the "Synthetic data" section to')
    a = ap.parse_args()
    rows = run(a.n, a.size)
    load = ' / '.join(f'{x:.1f}' for x in os.getloadavg())
    tab = table(rows, a.n, a.size)
    cmd = 'OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synth_speed.py ' + ' '.join(sys.argv[1:])
    text = (f'{SECTION}\n\nCommand: `{cmd}` (one thread: `cv2.setNumThreads(1)`, `torch.set_num_threads(1)`).\n'
            f'Machine: {_cpu()}, {os.cpu_count()} cores (shared with other jobs), Python {platform.python_version()}, '
            f'OpenCV {cv2.__version__}.\nA CD "tile" is a pair: two images and a label. CPU seconds are the process\'s '
            f'own time on its one thread; wall seconds also count waiting for the shared cores (load average {load}).\n\n{tab}\n')
    print(text)
    if a.results: write_section(a.results, text)

if __name__ == '__main__': main()
