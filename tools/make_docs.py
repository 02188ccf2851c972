#!/usr/bin/env python3
"""Build the docs site offline: nbdev's processed notebooks -> Markdown pages -> mkdocs-material -> `_site/`.

`make docs` runs, in order:
1. `tools/check_docs.py`: nbdev's own docs processors on every notebook, written to `_proc/`
   (front matter from the title cell, `show_doc` for every exported name, `#|hide`/`#|export`
   cells removed, names in backticks linked).
2. `python tools/make_docs.py pages`: one Markdown page per processed notebook in `_mkdocs/docs/`
   (named as nbdev names them: `02_views.ipynb` -> `views.html`), stored figures as PNG files,
   KaTeX from the npm registry (`npm pack`, cached in `_mkdocs/`), and `_mkdocs/mkdocs.yml`
   (title, description and links from settings.ini, navigation in notebook order).
3. `mkdocs build --strict -f _mkdocs/mkdocs.yml`: the site in `_site/` (a missing page, image
   or anchor is an error).
4. `python tools/make_docs.py check`: every `<img>`, stylesheet, script and internal link of
   `_site/` resolves to a file (and anchor), and no page loads anything from the internet.

Usage: python tools/make_docs.py pages | check [SITE]
"""
import json, re, shutil, subprocess, sys, tarfile, tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

root = Path(__file__).resolve().parents[1]
build = root/'_mkdocs'                   # generated Markdown, mkdocs.yml and the KaTeX cache
assets = Path(__file__).resolve().parent/'docs_assets'   # our CSS and JS, copied into every build
KATEX = '0.19.1'                         # npm package `katex`: its dist/ (katex.min.js, katex.min.css, fonts/)

# ---------------------------------------------------------------- notebook -> Markdown

_re_directive = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_fence = re.compile(r'^\s*(```+|~~~+)')
_re_code_link = re.compile(r'\[(`[^`\n]+`)\]\([^)\s]+\)')           # add_links' [`name`](url)
_re_list_item = re.compile(r'^\s*([-*+]|1[.)])\s+\S')
_re_sd_head = re.compile(r'^(#{2,4}) (\S+)\s*$', re.M)
_re_sd_source = re.compile(r'^\[source\]\(([^)\s]+)\)\{[^}\n]*\}\s*$', re.M)

def _show_doc_name(md:str):
    "The documented name if `md` is a show_doc output (a `[source](...)` link and a heading), else None."
    h = _re_sd_head.search(md)
    return h.group(2) if h and _re_sd_source.search(md) else None

def directives(src:str)->tuple:
    "Split a code cell's leading `#| key: value` lines (nbdev and quarto directives) from its code."
    lines, d = src.splitlines(), {}
    while lines and (m := _re_directive.match(lines[0])): d[m.group(1).lower()] = m.group(2).lower(); lines.pop(0)
    return d, '\n'.join(lines).strip('\n')

def _outside_fences(md:str, f)->str:
    "Apply `f` to each run of lines of `md` outside fenced code blocks; lines inside go through `_in_fence`."
    out, chunk, fence = [], [], None
    for line in md.splitlines():
        m = _re_fence.match(line)
        if fence is None and m:
            out.append(f(chunk)); chunk = []; fence = m.group(1); out.append([line])
        elif fence is not None:
            out.append([_in_fence(line)])
            if m and m.group(1).startswith(fence) and not line.strip()[len(m.group(1)):].strip(): fence = None
        else: chunk.append(line)
    out.append(f(chunk))
    return '\n'.join(l for ls in out for l in ls)

def _in_fence(line:str)->str:
    "nbdev's add_links also links names inside code (show_doc signatures): put the plain `name` back."
    return _re_code_link.sub(r'\1', line)

_re_code_span = re.compile(r'`[^`\n]*`')

def _table_pipes(line:str)->str:
    r"In a table row, GitHub/Jupyter read `a\|b` inside a code span as `a|b`; Python-Markdown shows the backslash."
    if not line.lstrip().startswith('|'): return line
    return _re_code_span.sub(lambda m: m.group(0).replace('\\|', '|'), line)

def _blank_before_blocks(lines:list)->list:
    "A list or table that follows a paragraph line needs a blank line before it in Python-Markdown (not in Jupyter)."
    out, in_list = [], False
    for l in map(_table_pipes, lines):
        item, table = bool(_re_list_item.match(l)), l.lstrip().startswith('|')
        prev = out[-1] if out else ''
        if prev.strip() and not in_list and (item or (table and not prev.lstrip().startswith('|'))) \
           and not prev.lstrip().startswith(('>', '#', '<')): out.append('')
        if not l.strip(): in_list = False
        elif item: in_list = True
        out.append(l)
    return out

class Pages:
    "Converts processed notebooks into Markdown pages: page names, nbdev's doc links made local, figures written to `files`."
    def __init__(self, doc_url:str, # nbdev's page prefix (settings.ini doc_host + doc_baseurl + '/')
                 anchors:dict, # page name (without .md) -> the anchors of its show_doc blocks
                ):
        self.doc_url, self.anchors = doc_url, anchors
        self.re_doc = re.compile(r'\[([^\]\n]+)\]\(' + re.escape(doc_url) + r'([\w.-]+)\.html(?:#([^)\s"]*))?\)')

    def local_links(self, md:str)->str:
        """nbdev's links `[name](doc_host/baseurl/page.html#anchor)` become links to our page `page.md#anchor`;
        a link to a name without a show_doc block (a private helper) becomes its plain text."""
        def sub(m):
            text, page, a = m.groups()
            if page not in self.anchors or (a and a not in self.anchors[page]): return text
            return f'[{text}]({page}.md{"#" + a if a else ""})'
        return self.re_doc.sub(sub, md)

    def markdown(self, md:str)->str:
        "A markdown cell (or a markdown output): links made local, blank lines where Python-Markdown needs them."
        return _outside_fences(self.local_links(md), _blank_before_blocks)

    def show_doc(self, md:str)->str:
        "A show_doc output as a boxed block: its heading gets nbdev's anchor (the name in lower case), source link styled."
        md = self.markdown(md).strip()
        if md.startswith('---'): md = md[3:].lstrip()
        def head(m):
            esc = lambda t: re.sub(r'([_*])', r'\\\1', t)          # __getattr__ stays as written
            return f'{m.group(1)} {esc(m.group(2))} {{ #{esc(m.group(2).lower())} .sd-name }}'
        md = _re_sd_head.sub(head, md, count=1)
        md = _re_sd_source.sub(r'[source](\1){ .sd-source target="_blank" }', md)
        return f'<div class="sd" markdown>\n\n{md}\n\n</div>'

    wide = 560   # figures at least this many pixels wide fill the text column (panels of Fig. 2/3)

    def image(self, b64:str, ext:str, files:Path, name:str)->str:
        "Write a stored figure to `files/name.ext` and link it (class `wide` when it should fill the column)."
        import base64, io
        from PIL import Image
        b = base64.b64decode(b64)
        files.mkdir(parents=True, exist_ok=True)
        (files/f'{name}.{ext}').write_bytes(b)
        w = Image.open(io.BytesIO(b)).size[0]
        src = f'{files.name}/{name}.{ext}'   # a click opens the figure at its stored size
        return f'[![figure]({src}){{ .nb-fig{" .wide" if w >= self.wide else ""} }}]({src}){{ .nb-fig-link }}'

    def outputs(self, cell:dict, d:dict, files:Path, page:str)->list:
        res = []
        for i, o in enumerate(cell.get('outputs', [])):
            data, ot = o.get('data', {}), o.get('output_type')
            txt = lambda k: ''.join(data[k]) if isinstance(data[k], list) else data[k]
            if ot == 'stream':
                if o.get('name') == 'stderr': continue
                t = ''.join(o.get('text', '')).rstrip()
                if t: res.append(f'```text\n{t}\n```')
            elif ot == 'error': res.append('```text\n' + '\n'.join(o.get('traceback', [])) + '\n```')
            elif 'text/markdown' in data:
                md = txt('text/markdown')
                res.append(self.show_doc(md) if _show_doc_name(md) else self.markdown(md))
            elif 'image/png' in data or 'image/jpeg' in data:
                k = 'image/png' if 'image/png' in data else 'image/jpeg'
                res.append(self.image(txt(k).strip(), k.split('/')[1].replace('jpeg', 'jpg'), files, f'{page}-{self.n_img}'))
                self.n_img += 1
            elif 'text/html' in data: res.append(f'<div class="nb-html">\n{txt("text/html").strip()}\n</div>')
            elif 'text/plain' in data: res.append(f'```text\n{txt("text/plain").rstrip()}\n```')
        return res

    def page(self, nb:dict, page:str, files:Path)->str:
        "The Markdown of one processed notebook (`files`: folder for its figures)."
        import yaml
        parts, self.n_img = [], 0
        for c in nb['cells']:
            if 'source' not in c: continue    # nbdev's processors delete the source of hidden/exported cells
            src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
            if c['cell_type'] == 'raw':
                if src.startswith('---'):       # front matter: the notebook's title and one-line summary
                    fm = yaml.safe_load(src.strip().strip('-')) or {}
                    parts.append(f'---\ntitle: {json.dumps(str(fm.get("title", page)))}\n---')
                    parts.append(f'# {fm.get("title", page)}')
                    if fm.get('description'): parts.append(f'{self.markdown(str(fm["description"]))}\n{{ .nb-description }}')
                continue
            if c['cell_type'] == 'markdown':
                if src.strip(): parts.append(self.markdown(src))
                continue
            d, code = directives(src)
            if d.get('include') == 'false' or 'hide' in d: continue
            if code and d.get('echo') != 'false': parts.append(f'```python\n{code}\n```')
            if d.get('output') != 'false': parts += self.outputs(c, d, files, page)
        return '\n\n'.join(p for p in parts if p.strip()) + '\n'

# ---------------------------------------------------------------- the mkdocs project

def page_name(nb_path:Path, nb:dict)->str:
    "The page name nbdev gives a notebook (its front matter's `output-file`, else the name without number prefix)."
    c = nb['cells'][0] if nb['cells'] else {}
    src = ''.join(c.get('source', '')) if c.get('cell_type') == 'raw' else ''
    m = re.search(r'^output-file:\s*(\S+)\.html\s*$', src, re.M)
    return m.group(1) if m else re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb_path.stem)

def show_doc_anchors(nb:dict)->set:
    "The anchors nbdev gives the names a processed notebook documents (the show_doc heading in lower case)."
    res = set()
    for c in nb['cells']:
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown', '')
            md = ''.join(md) if isinstance(md, list) else md
            if (h := _show_doc_name(md)): res.add(h.lower())
    return res

def settings()->dict:
    import configparser
    cp = configparser.ConfigParser(); cp.read(root/'settings.ini')
    return dict(cp['DEFAULT'])

def fetch_katex(dest:Path)->Path:
    "KaTeX's dist folder from the npm registry's `katex` package (npm pack), cached in `dest`."
    dist = dest/f'katex-{KATEX}'
    if (dist/'katex.min.js').exists(): return dist
    if not shutil.which('npm'): raise SystemExit('make docs: npm not found (KaTeX comes from the npm registry): apt-get install -y npm')
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['npm', 'pack', f'katex@{KATEX}', '--silent', '--pack-destination', tmp], check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        tgz = next(Path(tmp).glob('katex-*.tgz'))
        with tarfile.open(tgz) as t:
            t.extractall(tmp, members=[m for m in t.getmembers() if m.name.startswith('package/dist/')], filter='data')
        shutil.rmtree(dist, ignore_errors=True)
        shutil.copytree(Path(tmp)/'package'/'dist', dist)
    return dist

MKDOCS_YML = """\
# Generated by tools/make_docs.py from settings.ini: edit that script (or settings.ini), not this file.
site_name: {title}
site_description: {description}
docs_dir: docs
site_dir: ../_site
use_directory_urls: false
theme:
  name: material
  font: false                # no Google Fonts: nothing is loaded from the internet
  features: [content.code.copy, navigation.top, search.highlight, toc.follow]
  palette:
    primary: indigo
  icon:
    logo: material/book-open-page-variant
extra:
  generator: false
  social:
    - icon: fontawesome/brands/github
      link: {git_url}
plugins:
  - search
markdown_extensions:
  - attr_list
  - md_in_html
  - tables
  - admonition
  - footnotes
  - toc:
      permalink: true
  - pymdownx.arithmatex:
      generic: true
  - pymdownx.highlight:
      line_spans: __span     # one span per code line: sadl.js indents the wrapped part of a long line
  - pymdownx.superfences
extra_css: [assets/katex/katex.min.css, assets/sadl.css]
extra_javascript: [assets/katex/katex.min.js, assets/sadl.js]
validation:
  omitted_files: warn
  absolute_links: warn
  unrecognized_links: warn
  anchors: warn
nav:
{nav}
"""

def write_pages(proc:Path=root/'_proc', out:Path=build, nbs:Path=root/'nbs')->list:
    "Write `out/docs/*.md` (one per processed notebook, in notebook order), the assets and `out/mkdocs.yml`."
    fs = sorted((f for f in proc.glob('*.ipynb') if (nbs/f.name).exists()),   # not a notebook since removed
                key=lambda f: (f.stem != 'index', f.name))
    if not fs: raise SystemExit(f'{proc}: no processed notebooks (run tools/check_docs.py first)')
    nbs_ = {f: json.loads(f.read_text(encoding='utf-8')) for f in fs}
    names = {f: page_name(f, nb) for f, nb in nbs_.items()}
    cfg = settings()
    conv = Pages(f"{cfg['doc_host'].rstrip('/')}{cfg['doc_baseurl'].rstrip('/')}/", {names[f]: show_doc_anchors(nb) for f, nb in nbs_.items()})
    docs = out/'docs'
    shutil.rmtree(docs, ignore_errors=True); docs.mkdir(parents=True)
    nav = []
    for f, nb in nbs_.items():
        md = conv.page(nb, names[f], docs/f'{names[f]}_files')
        (docs/f'{names[f]}.md').write_text(md, encoding='utf-8')
        title = re.search(r'^# (.+)$', md, re.M)
        nav.append(f'  - {json.dumps("Home" if names[f] == "index" else (title.group(1) if title else names[f]))}: {names[f]}.md')
    if (nbs/'images').is_dir(): shutil.copytree(nbs/'images', docs/'images')
    shutil.copytree(assets, docs/'assets')
    katex = fetch_katex(out)
    shutil.copytree(katex, docs/'assets'/'katex', ignore=lambda d, fs: [f for f in fs if not (Path(d, f).is_dir() or
                    f in ('katex.min.js', 'katex.min.css') or Path(d).name == 'fonts')])
    (out/'mkdocs.yml').write_text(MKDOCS_YML.format(title=cfg['title'], description=json.dumps(cfg['description']),
                                                     git_url=cfg['git_url'], nav='\n'.join(nav)), encoding='utf-8')
    print(f'{len(fs)} pages in {docs}')
    return [docs/f'{n}.md' for n in names.values()]

# ---------------------------------------------------------------- checking the built site

_LOADS = {'img': 'src', 'script': 'src', 'iframe': 'src', 'source': 'src', 'video': 'src', 'audio': 'src', 'embed': 'src', 'input': 'src'}

class _Refs(HTMLParser):
    "Collects a page's ids, the URLs it loads and the URLs it links to."
    def __init__(self):
        super().__init__(); self.ids, self.loads, self.links = set(), [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        if tag in _LOADS and a.get(_LOADS[tag]): self.loads.append((tag, a[_LOADS[tag]]))
        if tag in ('img', 'source') and a.get('srcset'): self.loads += [(tag, s.split()[0]) for s in a['srcset'].split(',') if s.strip()]
        if tag == 'link' and a.get('href'):
            rel = (a.get('rel') or '').lower()
            (self.links if rel in ('canonical', 'prev', 'next', 'alternate') else self.loads).append((tag, a['href']))
        if tag == 'a' and a.get('href'): self.links.append((tag, a['href']))
        for k in ('style',):
            for u in re.findall(r'url\(\s*[\'"]?([^\'")]+)', a.get(k) or ''): self.loads.append((tag, u))

def _external(u:str)->bool: return bool(re.match(r'^(https?:)?//', u, re.I))

def check_site(site:Path=root/'_site')->list:
    "Problems of a built site: missing files or anchors behind internal links and images, anything loaded from the internet."
    site = Path(site)
    if not (site/'index.html').exists(): return [f'{site}/index.html: no site here (run `make docs`)']
    pages = {p: _Refs() for p in site.rglob('*.html')}
    for p, r in pages.items(): r.feed(p.read_text(encoding='utf-8', errors='replace'))
    bad = []
    for css in site.rglob('*.css'):
        for u in re.findall(r'(?:url\(\s*[\'"]?|@import\s+[\'"])([^\'")]+)', css.read_text(encoding='utf-8', errors='replace')):
            if _external(u): bad.append(f'{css.relative_to(site)}: loads {u} from the internet')
    for p, r in pages.items():
        rel = p.relative_to(site)
        for tag, u in r.loads:
            if _external(u): bad.append(f'{rel}: <{tag}> loads {u} from the internet')
        for tag, u in r.loads + r.links:
            if _external(u) or re.match(r'^(mailto|data|javascript|tel):', u, re.I): continue
            parts = urlsplit(u)
            path = unquote(parts.path)
            tgt = ((site if path.startswith('/') else p.parent)/path.lstrip('/')).resolve() if path else p   # /x: from the site root
            if tgt.is_dir(): tgt = tgt/'index.html'
            if not tgt.exists(): bad.append(f'{rel}: <{tag}> {u}: no such file'); continue
            if parts.fragment and tag == 'a' and tgt in pages and unquote(parts.fragment) not in pages[tgt].ids:
                bad.append(f'{rel}: <a> {u}: no anchor #{parts.fragment} in {tgt.relative_to(site)}')
    return bad

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['pages']: write_pages(); return 0
    if argv[:1] == ['check']:
        site = Path(argv[1]) if len(argv) > 1 else root/'_site'
        bad = check_site(site)
        for b in bad: print(b, file=sys.stderr)
        n = len(list(site.rglob('*.html')))
        print(f'{site}: {n} pages, ' + (f'{len(bad)} problems' if bad else 'every image, stylesheet, script and internal link resolves; nothing loads from the internet'))
        return 1 if bad else 0
    print(__doc__, file=sys.stderr); return 2

if __name__ == '__main__': sys.exit(main())
