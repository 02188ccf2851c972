// sadl docs site: runs on every page (mkdocs-material's document$, or DOMContentLoaded).
function sadlPage(root) {
  // Equations that pymdownx.arithmatex marks (\( .. \) inline, \[ .. \] display), typeset with the local KaTeX.
  for (const el of root.querySelectorAll('.arithmatex')) {
    const tex = el.textContent.trim();
    katex.render(tex.slice(2, -2), el, { displayMode: el.tagName === 'DIV', throwOnError: false });
  }
  // Long code lines wrap (sadl.css); the wrapped part is indented 4 columns past the line's own indentation.
  for (const line of root.querySelectorAll('pre > code > span[id^="__span"]')) {
    const n = line.textContent.match(/^ */)[0].length + 4;
    line.classList.add('wrap');
    line.style.paddingLeft = n + 'ch';
    line.style.textIndent = -n + 'ch';
  }
}
if (typeof document$ !== 'undefined') document$.subscribe(({ body }) => sadlPage(body));
else document.addEventListener('DOMContentLoaded', () => sadlPage(document.body));
