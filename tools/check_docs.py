#!/usr/bin/env python3
"""Run nbdev's docs processing (what `nbdev_docs` does before quarto renders) on notebooks, offline.

`nbdev_docs` first turns each notebook into the page quarto renders: it executes the cells it
needs for `show_doc` (exported cells, cells that import something, `show_doc` cells) in a fresh
shell, and stops at the first error. A cell that mixes an import with other code (`import x` then
a test using a variable from an earlier, non-exported cell) breaks the docs build although
`nbdev_test` passes. This script runs exactly those processors (nbdev's `FilterDefaults`), one
notebook per process, writes the processed notebooks to `_proc/` (what quarto would render) and
names each failing cell. It never calls quarto, and never installs anything: `nbdev_docs` and
`nbdev_proc_nbs` try to install quarto with sudo and `pip install -e .` when it is missing.

Usage: python tools/check_docs.py [NOTEBOOK ...]     (default: every nbs/*.ipynb)
"""
import subprocess, sys, time, warnings
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def proc_one(src:Path, # Notebook to process
             dst:Path, # Where the processed notebook goes
            ):
    "Process `src` with nbdev's docs processors (as `nbdev.serve_drv` does) and write `dst`."
    import os
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults
    os.environ['IN_TEST'] = '1'
    nb = read_nb(src)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        FilterDefaults()(nb)
    mixed = [str(w.message).split('---')[1].strip().splitlines()[0] for w in ws if 'imports and other code' in str(w.message)]
    for m in mixed: print(f"  note: a cell mixes imports and other code (nbdev runs it for the docs): {m[:90]}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    fs = [Path(f).resolve() for f in argv] or sorted((root/'nbs').glob('*.ipynb'))
    bad = []
    for f in fs:
        if not f.exists(): raise FileNotFoundError(f"{f}: no such notebook (give paths like nbs/02_views.ipynb)")
        t0 = time.time()
        dst = root/'_proc'/f.relative_to(root/'nbs')
        code = f"import sys; sys.path.insert(0, {str(root)!r}); sys.path.insert(0, {str(root/'tools')!r}); " \
               f"from check_docs import proc_one; from pathlib import Path; proc_one(Path({str(f)!r}), Path({str(dst)!r}))"
        r = subprocess.run([sys.executable, '-c', code], cwd=f.parent, capture_output=True, text=True)
        print(f"{f.name}: {'ok' if r.returncode == 0 else 'FAILED'} ({time.time() - t0:.1f} s)", flush=True)
        print(''.join(l for l in r.stdout.splitlines(True) if l.startswith('  note')), end='')
        if r.returncode:
            bad.append(f.name)
            err = [l for l in r.stderr.splitlines() if l.startswith('Exception: Error') or 'Error:' in l]
            print('  ' + '\n  '.join(err[-3:] or r.stderr.splitlines()[-5:]))
    if bad: print('docs processing failed for: ' + ', '.join(bad), file=sys.stderr); return 1
    return 0

if __name__ == '__main__': sys.exit(main())
