#!/usr/bin/env python3
"""Execute notebooks and store their outputs (figures, tables, `show_doc`) in the committed files.

What `nbdev_test` runs is what runs here: the same cells (those flagged with a `tst_flags`
directive such as `#|slow`, `#|cuda`, `#|notest`, `#|eval: false`, and `nbdev_export()`
cells are skipped and keep whatever output they had), in the notebook's folder, stopping
at the first error (the notebook is then left unchanged). Every run is seeded and
matplotlib draws PNGs at a low dpi (a cell marked with quarto's `#| fig-dpi: N` stores its
figures at N dpi), so re-running gives the same bytes on the same library versions; what
would still differ between runs or machines is not stored: stderr, progress bars, the outputs of cells marked `#|output: false` (e.g. timings); temporary folder names, this
checkout's path (`<repo>`) and the `time` column of fastai's fit table (`--:--`) are replaced. The result is cleaned with nbdev's own `clean_nb` (settings.ini: `clear_all =
False` keeps the outputs), so `make check-sync` stays green.

Usage (from the repository root, `make figures` runs the first form):
    python tools/run_notebooks.py                      # every nbs/[0-9]*.ipynb
    python tools/run_notebooks.py nbs/02_views.ipynb   # some notebooks
    python tools/run_notebooks.py --flags slow ...     # also run #|slow cells
    python tools/run_notebooks.py --check ...          # run, report what would change, write nothing
Options: --dpi N (default 64), --colors N (PNG palette size, default 128; 0 keeps RGBA), --max-kb N (default 300: a larger notebook is an error),
--seed N (default 0).
"""
import argparse, os, re, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def _settings():
    "tst_flags and the cleaning options of settings.ini (through nbdev's own reader)."
    from nbdev.config import get_config
    return get_config(path=root)

def _directives(cell)->dict:
    from nbdev.process import extract_directives
    return extract_directives(cell, remove=False) or {}

def _skip(cell, flags:set)->bool:
    "True for cells `nbdev_test` would not run (markdown, `nbdev_export()`, eval: false, a skip flag)."
    if cell.cell_type != 'code': return True
    if 'nbdev_export' + '(' in cell.source: return True
    d = _directives(cell)
    if d.get('eval:', [''])[0].lower() == 'false': return True
    return bool(flags & set(d))

_PRELUDE = """
import random as _r, numpy as _np, torch as _t, matplotlib as _m
_r.seed({seed}); _np.random.seed({seed}); _t.manual_seed({seed})
_m.rcParams.update({{'figure.dpi': {dpi}, 'savefig.dpi': {dpi}, 'figure.max_open_warning': 0}})
"""

# quarto's `#| fig-dpi: N` cell option: that cell's figures are stored at N dpi, whatever dpi they were drawn
# at (a panel of many small images stays legible on the docs page); other cells keep each figure's own dpi.
_FIG_DPI_ON = "from matplotlib_inline.backend_inline import set_matplotlib_formats as _smf; _smf('png', dpi={dpi})"
_FIG_DPI_OFF = "_smf('png')"   # back to CaptureShell's mpl_format

def _fig_dpi(cell):
    "The cell's `#| fig-dpi: N` (an int), else None."
    v = _directives(cell).get('fig-dpi:')
    if not v: return None
    try: return int(v[0])
    except ValueError: raise ValueError(f"`#| fig-dpi: {v[0]}`: give a whole number of dots per inch, e.g. `#| fig-dpi: 120`") from None

def run_notebook(path:Path, # Notebook to execute
                 flags:set=frozenset(), # Flags (from tst_flags) whose cells run anyway
                 dpi:int=64, # matplotlib figure dpi for stored PNGs
                 seed:int=0, # Seed of python, numpy and torch before the first cell
                 ):
    "Execute `path` like `nbdev_test` and return the notebook with fresh outputs (or raise)."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    cfg = _settings()
    skip = set(cfg.tst_flags.split()) - set(flags)
    import matplotlib
    nb = read_nb(path)
    env, backend = os.environ.get('IN_TEST'), matplotlib.get_backend()
    os.environ['IN_TEST'] = '1'   # what nbdev_test sets: notebooks behave as under test
    try:
        sh = CaptureShell(path, mpl_format='png')
        sh._fname = path
        with working_directory(path.parent):
            sh.run(_PRELUDE.format(seed=seed, dpi=dpi))
            if sh.exc: raise sh.exc
            for cell in nb.cells:
                if _skip(cell, skip): continue
                cell.outputs = []
                fig_dpi = _fig_dpi(cell)
                if fig_dpi: sh.run(_FIG_DPI_ON.format(dpi=fig_dpi))
                sh.cell(cell)
                if sh.exc: raise RuntimeError(sh.prettytb(fname=path))
                if fig_dpi: sh.run(_FIG_DPI_OFF)
                keep_reproducible(cell, _directives(cell))
    finally:   # leave the calling process as it was (tests run this in-process)
        if env is None: os.environ.pop('IN_TEST', None)
        else: os.environ['IN_TEST'] = env
        import matplotlib.pyplot as plt
        plt.close('all'); matplotlib.use(backend)
    return nb

def _small_png(b64:str, colors:int)->str:
    "Re-encode a base64 PNG with an adaptive palette of `colors` (photos in PNG are large; 128 colours cut ~4x)."
    import base64, io
    from PIL import Image
    im = Image.open(io.BytesIO(base64.b64decode(b64)))
    if im.mode in ('RGBA', 'LA', 'P'):   # matplotlib's white figure background: flatten alpha onto white
        im = im.convert('RGBA'); bg = Image.new('RGBA', im.size, (255, 255, 255, 255)); im = Image.alpha_composite(bg, im)
    im = im.convert('RGB').quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO(); im.save(buf, 'PNG', optimize=True)
    return base64.b64encode(buf.getvalue()).decode() + '\n'

def shrink_images(nb, colors:int=128):
    "Palette-encode every PNG output of `nb` (no-op when `colors` is 0)."
    if not colors: return nb
    for c in nb.cells:
        for o in c.get('outputs', []):
            d = o.get('data', {})
            if 'image/png' in d:
                src = d['image/png']; d['image/png'] = _small_png(''.join(src) if isinstance(src, list) else src, colors)
    return nb

_BAR = re.compile(r'█|\|-{10,}\||^[ \t]+\n?$')   # fastprogress's console bars (and the blanks it leaves)
_TMP = re.compile(re.escape(tempfile.gettempdir()) + r'/tmp\w+')   # tempfile.mkdtemp() names
_EPOCH = re.compile(r'^Epoch \d+/\d+ :\s*$')                        # fastprogress's master-bar title
_FIT_TIME = re.compile(r'^(\d+\s.*\s)\d\d:\d\d(\s*)$')              # the `time` column of fastai's fit table

def _scrub(line:str)->str:
    "Machine- and run-specific parts of one output line, replaced by fixed text."
    line = _TMP.sub('/tmp/tmpXXXX', line)
    line = line.replace(str(root), '<repo>').replace(str(root.parent) + '/', '<repo>/../')
    return _FIT_TIME.sub(r'\1--:--\2', line)

def keep_reproducible(cell, directives:dict):
    """Drop what differs between runs or machines: stderr (warnings name local paths), progress bars,
    temporary folder names, and every output of a cell marked `#|output: false` (quarto's directive: timings and the like)."""
    if directives.get('output:', [''])[0].lower() == 'false': cell.outputs = []; return
    outs = []
    for o in cell.outputs:
        if o.get('output_type') == 'stream':
            if o.get('name') == 'stderr': continue
            lines = [l for l in ''.join(o['text']).replace('\r', '\n').splitlines(True) if not (_BAR.search(l) or _EPOCH.match(l))]
            lines = [l for i, l in enumerate(lines) if l.strip() or i == 0 or lines[i - 1].strip()]   # no runs of blank lines
            while lines and not lines[0].strip(): lines.pop(0)
            if not lines: continue
            o['text'] = [_scrub(l) for l in lines]
        for k, v in o.get('data', {}).items():
            if k.startswith('text/'): o['data'][k] = [_scrub(l) for l in (v if isinstance(v, list) else v.splitlines(True))]
        outs.append(o)
    cell.outputs = outs

def _clean(nb):
    "nbdev's own cleaning with settings.ini's options (as `nbdev_clean` writes it)."
    from nbdev.clean import clean_nb
    cfg = _settings()
    clean_nb(nb, cfg.clear_all, cfg.get('allowed_metadata_keys').split(),
             cfg.get('allowed_cell_metadata_keys').split(), cfg.clean_ids)
    return nb

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: nbs/[0-9]*.ipynb)')
    p.add_argument('--flags', default='', help='space-separated test flags whose cells run too (e.g. "slow")')
    p.add_argument('--dpi', type=int, default=64, help='matplotlib dpi of stored figures')
    p.add_argument('--seed', type=int, default=0, help='seed of python/numpy/torch before the first cell')
    p.add_argument('--colors', type=int, default=128, help='palette size of stored PNGs (0: keep matplotlib\'s RGBA PNG)')
    p.add_argument('--max-kb', type=int, default=300, help='fail when a notebook is larger than this')
    p.add_argument('--check', action='store_true', help='write nothing; exit 1 if a notebook would change')
    a = p.parse_args(argv)
    from execnb.nbio import nb2str
    sys.path.insert(0, str(root))   # `import sadl` takes this checkout
    fs = [Path(f).resolve() for f in a.notebooks] or sorted((root/'nbs').glob('[0-9]*.ipynb'))
    bad = []
    for f in fs:
        if not f.exists(): raise FileNotFoundError(f"{f}: no such notebook (give paths like nbs/02_views.ipynb)")
        t0 = time.time()
        try: nb = _clean(shrink_images(run_notebook(f, set(a.flags.split()), a.dpi, a.seed), a.colors))
        except Exception as e:
            print(f"FAILED {f.name}: left unchanged\n{e}", file=sys.stderr); bad.append(f.name); continue
        new, old = nb2str(nb), f.read_text(encoding='utf-8')
        kb = len(new.encode()) / 1024
        status = 'unchanged' if new == old else ('would change' if a.check else 'updated')
        print(f"{f.name}: {status}, {kb:.0f} KB, {time.time() - t0:.1f} s")
        if kb > a.max_kb: print(f"  {f.name} is {kb:.0f} KB > {a.max_kb} KB: lower the figure dpi or size", file=sys.stderr); bad.append(f.name)
        if new != old:
            if a.check: bad.append(f.name)
            else: f.write_text(new, encoding='utf-8')
    if bad: print('problems: ' + ', '.join(bad), file=sys.stderr); return 1
    return 0

if __name__ == '__main__': sys.exit(main())
