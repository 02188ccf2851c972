"tools/make_docs.py (`make docs`): processed notebook -> Markdown page, and the check of a built site."
import base64, importlib.util, io, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = 'https://sadl-dev.github.io/sadl/'

def _tool():
    spec = importlib.util.spec_from_file_location('make_docs', ROOT/'tools'/'make_docs.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def _png():
    from PIL import Image
    buf = io.BytesIO(); Image.new('RGB', (600, 100), (200, 30, 30)).save(buf, 'PNG')
    return base64.b64encode(buf.getvalue()).decode()

SHOW_DOC = f"""---

[source](https://github.com/sadl-dev/sadl/blob/main/sadl/views.py#L9){{target="_blank" style="float:right; font-size:smaller"}}

### make_views

```python
def make_views(
    img:Tensor, # (B,3,H,W) uint8, see [`apply_geometry`]({DOC}views.html#apply_geometry)
)->Views:
```

*Algorithm 1, with [`Views`]({DOC}views.html#views).*
"""

def _code(src, outputs=()): return dict(cell_type='code', metadata={}, outputs=list(outputs), source=src)
def _md(src): return dict(cell_type='markdown', metadata={}, source=src)

def _nb():
    "What nbdev's processors (tools/check_docs.py) leave of a small notebook."
    return dict(metadata={}, nbformat=4, nbformat_minor=5, cells=[
        dict(cell_type='raw', metadata={}, source='---\ndescription: One line on `views`.\noutput-file: views.html\ntitle: Views\n\n---\n'),
        _md('## Making views\n'
            f'[`make_views`]({DOC}views.html#make_views) calls [`_helper`]({DOC}views.html#_helper) and returns:\n'
            '- view 1, with $x^2$\n- view 2\n\n$$\\mathcal{L} = \\sum_i a_i$$\n\n'
            '| flag | what |\n| --- | --- |\n| `--swap a\\|b` | the swap |\n'),
        dict(cell_type='code', metadata={}, outputs=[]),                       # an #|export cell: source deleted
        _code('#| echo: false\n#| output: asis\nshow_doc(make_views)',
              [dict(output_type='execute_result', metadata={}, data={'text/markdown': SHOW_DOC, 'text/plain': '<...>'})]),
        _code('#| output: false\nprint(took)', [dict(output_type='stream', name='stdout', text=['took 3 s\n'])]),
        _code('#| include: false\nsecret = 1'),
        _code('#|slow\nfig = plot()', [dict(output_type='stream', name='stderr', text=['a warning\n']),
                                       dict(output_type='display_data', metadata={}, data={'image/png': _png(), 'text/plain': '<Figure>'})]),
        _code('x = 1\nx', [dict(output_type='execute_result', metadata={}, data={'text/plain': '1'})]),
    ])

@pytest.fixture(scope='module')
def page(tmp_path_factory):
    md = _tool()
    files = tmp_path_factory.mktemp('docs')/'views_files'
    conv = md.Pages(DOC, {'views': {'make_views', 'views'}})
    return conv.page(_nb(), 'views', files), files

def test_page(page):
    text, files = page
    assert text.startswith('---\ntitle: "Views"\n---\n\n# Views\n')
    assert 'One line on `views`.\n{ .nb-description }' in text
    assert '#|' not in text and 'show_doc(' not in text and 'secret' not in text   # directives and hidden cells gone
    assert 'print(took)' in text and 'took 3 s' not in text and 'a warning' not in text   # output: false, stderr
    assert '[`make_views`](views.md#make_views)' in text and DOC not in text         # nbdev's links made local
    assert '`_helper`' in text and '(views.md#_helper)' not in text                  # no show_doc: plain name
    assert 'returns:\n\n- view 1' in text                                            # a blank line before the list
    assert '| `--swap a|b` |' in text
    assert '```python\nfig = plot()\n```' in text and '```python\nx = 1\nx\n```\n\n```text\n1\n```' in text
    assert (files/'views-0.png').exists() and '![figure](views_files/views-0.png){ .nb-fig .wide }' in text

def test_show_doc_block(page):
    text = page[0]
    sd = text[text.index('<div class="sd" markdown>'):]
    sd = sd[:sd.index('</div>')]
    assert '### make\\_views { #make\\_views .sd-name }' in sd
    assert '[source](https://github.com/sadl-dev/sadl/blob/main/sadl/views.py#L9){ .sd-source target="_blank" }' in sd
    assert 'img:Tensor, # (B,3,H,W) uint8, see `apply_geometry`\n' in sd             # no Markdown link inside code
    assert '*Algorithm 1, with [`Views`](views.md#views).*' in sd

def test_rendered(page):
    "The page through Python-Markdown with the site's own extensions (what mkdocs does): math, ids, list, table, figure."
    import markdown, yaml
    md = _tool()
    cfg = yaml.safe_load(md.MKDOCS_YML.format(title='t', description='d', git_url='u', nav=''))
    exts = [e if isinstance(e, str) else next(iter(e)) for e in cfg['markdown_extensions']]
    confs = {next(iter(e)): next(iter(e.values())) for e in cfg['markdown_extensions'] if isinstance(e, dict)}
    body = page[0].split('---\n', 2)[2]
    html = markdown.markdown(body, extensions=exts, extension_configs=confs)
    assert '<span class="arithmatex">\\(x^2\\)</span>' in html
    assert '<div class="arithmatex">\\[\\mathcal{L} = \\sum_i a_i\\]</div>' in html
    assert re.search(r'<h3 class="sd-name" id="make_views">make_views', html)
    assert '<h2 id="making-views">' in html
    assert '<li>view 1, with' in html and '<td><code>--swap a|b</code></td>' in html
    assert re.search(r'<a class="nb-fig-link" href="views_files/views-0.png"><img alt="figure" class="nb-fig wide" src="views_files/views-0.png"', html)

def test_check_site(tmp_path):
    md = _tool()
    (tmp_path/'css').mkdir()
    (tmp_path/'css'/'a.css').write_text('@font-face { src: url(fonts/x.woff2) } .b { background: url("https://example.com/b.png") }')
    (tmp_path/'img.png').write_bytes(b'png')
    (tmp_path/'views.html').write_text('<h3 id="make_views">make_views</h3>')
    (tmp_path/'index.html').write_text(
        '<link rel="stylesheet" href="css/a.css"><script src="https://cdn.example.com/katex.js"></script>'
        '<img src="img.png"><img src="gone.png"><a href="views.html#make_views">ok</a><a href="views.html#nope">x</a>'
        '<a href="https://github.com/sadl-dev/sadl">a link out is fine</a><a href="#top">t</a><p id="top"></p>'
        '<a href="/views.html">from the root</a><a href="missing.html">m</a>')
    bad = md.check_site(tmp_path)
    assert sorted(bad) == sorted([
        'css/a.css: loads https://example.com/b.png from the internet',
        'index.html: <script> loads https://cdn.example.com/katex.js from the internet',
        'index.html: <img> gone.png: no such file',
        'index.html: <a> views.html#nope: no anchor #nope in views.html',
        'index.html: <a> missing.html: no such file']), bad
    assert md.check_site(tmp_path/'nothing') == [f'{tmp_path}/nothing/index.html: no site here (run `make docs`)']

def test_directives():
    md = _tool()
    assert md.directives('#| echo: false\n#|output: asis\nshow_doc(f)') == ({'echo': 'false', 'output': 'asis'}, 'show_doc(f)')
    assert md.directives('#|slow\nx = 1  #| not a directive') == ({'slow': ''}, 'x = 1  #| not a directive')
