#!/usr/bin/env python3
"""Move the imports of notebook cells that mix imports with other code into a cell of their own.

nbdev's docs build (`nbdev_docs`, and `tools/check_docs.py`) executes every cell that imports
something, so a test cell such as `from x import y` + `y(t)` (with `t` from an earlier, non-exported
cell) fails there with a NameError, and a `#|slow` cell that imports runs in full. fastai keeps
imports in cells of their own; this tool does that split: the import statements of such a cell
go, with the cell's `#|` directives (so `#|slow` stays slow), into a new cell just before it.
Exported cells (`#|export`...) and the setup cells before the first `## ` section (they define
what they use) are left alone. Lines holding an import and other code
(`import x; f()`) are reported, not changed.

Usage: python tools/split_import_cells.py NOTEBOOK ...   (then nbdev_clean)
"""
import ast, json, sys
from pathlib import Path

_EXPORTS = ('export', 'exports', 'exporti', 'exec_doc')

def split_cell(src:str)->tuple:
    "(imports cell source or None, rest source) for one code cell's source."
    lines = src.splitlines(True)
    direc = []
    for l in lines:
        if l.startswith('#|') or l.startswith('#| '): direc.append(l)
        else: break
    if any(l[2:].strip().split(':')[0].split()[0] in _EXPORTS for l in direc if l[2:].strip()): return None, src
    try: tree = ast.parse(src)
    except SyntaxError: return None, src   # IPython magics: leave alone
    imps = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not imps or len(imps) == len(tree.body): return None, src
    rows = {i for n in imps for i in range(n.lineno - 1, n.end_lineno)}
    other = {i for n in tree.body if n not in imps for i in range(n.lineno - 1, n.end_lineno)}
    if rows & other: raise ValueError(f"a line holds an import and other code; split it by hand:\n{src[:200]}")
    imp_src = ''.join(direc) + ''.join(l for i, l in enumerate(lines) if i in rows)
    rest = ''.join(l for i, l in enumerate(lines) if i not in rows)
    return imp_src.rstrip('\n'), rest.rstrip('\n')

def split_notebook(path:Path)->int:
    "Split the mixed cells of `path` in place; return how many were split."
    nb = json.loads(path.read_text(encoding='utf-8'))
    cells, n, setup = [], 0, True
    for c in nb['cells']:
        if c['cell_type'] == 'markdown' and ''.join(c['source']).lstrip().startswith('## '): setup = False
        if c['cell_type'] == 'code' and not setup:
            imp, rest = split_cell(''.join(c['source']))
            if imp is not None:
                cells.append(dict(cell_type='code', execution_count=None, metadata={}, outputs=[], source=imp.splitlines(True)))
                c['source'] = rest.splitlines(True); n += 1
        cells.append(c)
    nb['cells'] = cells
    if n: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + '\n', encoding='utf-8')
    return n

if __name__ == '__main__':
    for f in sys.argv[1:]: print(f"{f}: {split_notebook(Path(f))} cells split")
