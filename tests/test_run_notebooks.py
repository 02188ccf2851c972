"tools/run_notebooks.py (`make figures`): runs what nbdev_test runs, stores reproducible outputs."
import base64, importlib.util, io, json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def _tool():
    spec = importlib.util.spec_from_file_location('run_notebooks', ROOT/'tools'/'run_notebooks.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def _cell(src, outputs=None):
    return dict(cell_type='code', execution_count=None, id=f'c{abs(hash(src)) % 10**6}', metadata={},
                outputs=outputs or [], source=src)

def _nb(path):
    old = [dict(name='stdout', output_type='stream', text=['kept\n'])]
    cells = [dict(cell_type='markdown', id='m0', metadata={}, source='# t'),
             _cell("import warnings, tempfile, torch\nprint('hello', torch.rand(1).item() < 2)"),
             _cell("#|slow\nprint('slow ran')", old),
             _cell("warnings.warn('noisy')\nprint(tempfile.mkdtemp())"),
             _cell("#| output: false\nprint('a timing')"),
             _cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(1, 1)); ax.plot([0, 1], [torch.rand(1).item()] * 2)")]
    path.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5), indent=1))

def _run_tool(*args, rc=0):
    "Run the tool as `make figures` does: in its own process (matplotlib and IPython state of other tests cannot leak in)."
    import subprocess, sys
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'run_notebooks.py'), *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == rc, r.stdout + r.stderr
    return r

def test_run_notebook(tmp_path):
    f = tmp_path/'t.ipynb'; _nb(f)
    _run_tool(f, '--dpi', '40', '--colors', '64')
    test = json.loads(f.read_text())
    outs = [c.get('outputs', []) for c in test['cells']]
    assert outs[1][0]['text'] == ['hello True\n']
    assert outs[2][0]['text'] == ['kept\n']                       # #|slow: not run, old output kept
    assert outs[3][0]['text'] == ['/tmp/tmpXXXX\n']                # no stderr warning, tmp name scrubbed
    assert outs[4] == []                                           # output: false
    from PIL import Image
    png = [o for o in outs[5] if 'image/png' in o.get('data', {})][0]['data']['image/png']
    im = Image.open(io.BytesIO(base64.b64decode(png)))
    assert im.mode == 'P' and im.size[0] <= 60                     # palette PNG at low dpi
    before = f.read_text()
    _run_tool(f, '--dpi', '40', '--colors', '64')                  # seeded: same bytes
    assert f.read_text() == before

def test_cli_check_and_errors(tmp_path):
    f = tmp_path/'t.ipynb'; _nb(f)
    _run_tool(f, '--dpi', '40')
    assert 'unchanged' in _run_tool(f, '--dpi', '40', '--check').stdout     # nothing would change
    f.write_text(f.read_text().replace('hello True', 'hello False'))
    assert 'would change' in _run_tool(f, '--dpi', '40', '--check', rc=1).stdout
    assert 'hello False' in f.read_text()                                     # --check writes nothing
    bad = tmp_path/'bad.ipynb'; bad.write_text(json.dumps(dict(cells=[_cell("1/0")], metadata={}, nbformat=4, nbformat_minor=5)))
    before = bad.read_text()
    r = _run_tool(bad, rc=1)
    assert bad.read_text() == before and 'ZeroDivisionError' in r.stderr      # a failing notebook is left unchanged
    assert 'no such notebook' in _run_tool(tmp_path/'nope.ipynb', rc=1).stderr

def test_leaves_process_alone(tmp_path):
    import matplotlib, os
    rn = _tool()
    f = tmp_path/'t.ipynb'; _nb(f)
    before = matplotlib.get_backend(), os.environ.get('IN_TEST')
    rn.run_notebook(f, dpi=40)
    assert (matplotlib.get_backend(), os.environ.get('IN_TEST')) == before

def test_scrub():
    rn = _tool()
    test = rn._scrub
    assert test('0   1.657634    0.025211   0   00:07   \n') == '0   1.657634    0.025211   0   --:--   \n'   # fastai fit table
    assert test('took 00:07\n') == 'took 00:07\n'                                           # other text untouched
    assert test(f"Path('{ROOT.parent}/shared/data')") == "Path('<repo>/../shared/data')"
    assert test(f"{ROOT}/runs/x") == '<repo>/runs/x'

def test_fig_dpi(tmp_path):
    "quarto's `#| fig-dpi: N` stores that cell's figures at N dpi (whatever dpi they were drawn at); the next cell is back to the figure's own."
    fig = "fig = plt.figure(figsize=(1, 1), dpi=30); fig.gca().plot([0, 1])"
    cells = [_cell("import matplotlib.pyplot as plt"), _cell("#| fig-dpi: 90\n" + fig), _cell(fig + " "), _cell("#| fig-dpi: lots\n" + fig)]
    f = tmp_path/'t.ipynb'
    f.write_text(json.dumps(dict(cells=cells[:3], metadata={}, nbformat=4, nbformat_minor=5), indent=1))
    _run_tool(f, '--colors', '0')
    from PIL import Image
    def width(c): return Image.open(io.BytesIO(base64.b64decode([o for o in c['outputs'] if 'image/png' in o.get('data', {})][0]['data']['image/png']))).size[0]
    big, small = [width(c) for c in json.loads(f.read_text())['cells'][1:]]
    assert abs(big / small - 3) < 0.1, (big, small)       # 90 dpi vs the figure's 30 (bbox 'tight' sizes both alike)
    f.write_text(json.dumps(dict(cells=[cells[0], cells[3]], metadata={}, nbformat=4, nbformat_minor=5), indent=1))
    assert 'whole number of dots per inch' in _run_tool(f, rc=1).stderr
