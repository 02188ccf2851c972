#!/usr/bin/env python3
"""Run nbdev's docs processing (what `nbdev_docs` does before quarto renders) on notebooks, offline.

`nbdev_docs` first turns each notebook into the page quarto renders: it executes the cells it
needs for `show_doc` (exported cells, cells that import something, `show_doc` cells) in a fresh
shell, and stops at the first error. A cell that mixes an import with other code (`import x` then
a test using a variable from an earlier, non-exported cell) breaks the docs build although
`nbdev_test` passes. This script runs exactly those processors (nbdev's `FilterDefaults`) in
worker processes (each notebook in a fresh shell, as nbdev does), writes the processed notebooks
to `_proc/` (what quarto would render, and what `make docs` turns into the site) and names each
failing cell. It never calls quarto, and never installs anything: `nbdev_docs` and
`nbdev_proc_nbs` try to install quarto with sudo and `pip install -e .` when it is missing.

Usage: python tools/check_docs.py [--jobs N] [NOTEBOOK ...]   (default: every nbs/*.ipynb, 2 at a time)
"""
import multiprocessing, os, sys, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def proc_one(src:Path, # Notebook to process
             dst:Path, # Where the processed notebook goes
            )->list:
    "Process `src` with nbdev's docs processors (as `nbdev.serve_drv` does) and write `dst`; returns notes on mixed cells."
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults
    os.environ['IN_TEST'] = '1'
    os.chdir(src.parent)
    nb = read_nb(src)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        FilterDefaults()(nb)
    mixed = [str(w.message).split('---')[1].strip().splitlines()[0] for w in ws if 'imports and other code' in str(w.message)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)
    return [f"a cell mixes imports and other code (nbdev runs it for the docs): {m[:90]}" for m in mixed]

def _job(src:Path, dst:Path)->tuple:
    "`proc_one` in a worker: (notes, error lines or None, seconds)."
    t0 = time.time()
    try: return proc_one(src, dst), None, time.time() - t0
    except Exception as e:
        err = [l for l in ''.join(traceback.format_exception(e)).splitlines() if l.startswith('Exception: Error') or 'Error:' in l]
        return [], err[-3:] or traceback.format_exception_only(e)[-1:], time.time() - t0

def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    jobs = int(argv.pop(argv.index('--jobs') + 1)) if '--jobs' in argv else min(2, os.cpu_count() or 1)
    if '--jobs' in argv: argv.remove('--jobs')
    fs = [Path(f).resolve() for f in argv] or sorted((root/'nbs').glob('*.ipynb'))
    for f in fs:
        if not f.exists(): raise FileNotFoundError(f"{f}: no such notebook (give paths like nbs/02_views.ipynb)")
    sys.path[:0] = [str(root), str(root/'tools')]   # workers import sadl from this checkout
    import check_docs   # workers find `_job` by module name: IPython replaces `__main__` in a process that ran a notebook
    bad = []
    # `jobs` worker processes, each processing notebooks one after the other (as nbdev_docs does: fastai and
    # torch are imported once per worker, not once per notebook); results reported in notebook order.
    with ProcessPoolExecutor(max(1, jobs), mp_context=multiprocessing.get_context('spawn')) as ex:
        for f, fut in [(f, ex.submit(check_docs._job, f, root/'_proc'/f.relative_to(root/'nbs'))) for f in fs]:
            try: notes, err, secs = fut.result()
            except Exception as e: notes, err, secs = [], [f'the worker process died: {e!r}'], 0.
            print(f"{f.name}: {'ok' if err is None else 'FAILED'} ({secs:.1f} s)", flush=True)
            for n in notes: print(f"  note: {n}")
            if err is not None: bad.append(f.name); print('  ' + '\n  '.join(err))
    if bad: print('docs processing failed for: ' + ', '.join(bad), file=sys.stderr); return 1
    return 0

if __name__ == '__main__': sys.exit(main())
