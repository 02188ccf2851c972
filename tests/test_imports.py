"The import floors of `sadl` (CONTRIBUTING.md, 'Floors'): read from the source with `ast`, nothing imported."
import ast
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1]/'sadl'

# Each module may import only from its own floor or a lower one (CONTRIBUTING.md lists the same floors).
FLOORS = [
    ('core', 'registry'),
    ('config',),
    ('tiling',),
    ('data', 'synth', 'views'),
    ('sampling', 'losses'),
    ('model',),
    ('metrics',),
    ('train',),
    ('contrastive', 'supervised', 'probe'),
    ('learner',),
    ('cd',),
    ('predict',),
    ('analysis',),
    ('reproduce',),
    ('cli',),
]

def _modules()->dict: # {module name: parsed tree} of every sadl/*.py but the generated index
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(PKG.glob('*.py')) if p.stem not in ('__init__', '_modidx')}

def _imports(tree:ast.Module, mods:set)->list: # [(module imported, name imported or None, line)], at any depth (functions too)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split('.')
                if parts[0] == 'sadl' and len(parts) > 1: out.append((parts[1], None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1: parts = (node.module or '').split('.')
            elif node.level == 0 and (node.module or '').split('.')[0] == 'sadl': parts = node.module.split('.')[1:]
            else: continue
            if parts and parts[0]:
                out += [(parts[0], a.name, node.lineno) for a in node.names]
            else:                                                            # `from . import x` / `from sadl import x`
                out += [(a.name, None, node.lineno) for a in node.names if a.name in mods]
    return out

def _graph()->dict: # {module: {(imported module, name, line), ...}} within sadl
    trees = _modules()
    return {m: {i for i in _imports(t, set(trees)) if i[0] != m} for m, t in trees.items()}

def _cycle(edges:dict)->list|None: # one import circle as a list of modules, or None
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 'open': return stack[stack.index(n):] + [n]
            if n not in state:
                c = visit(n)
                if c: return c
        state[m] = 'done'; stack.pop()
        return None
    for m in sorted(edges):
        if m not in state:
            c = visit(m)
            if c: return c
    return None

def test_parser_sees_every_kind_of_import():
    t = ast.parse("from .a import x, _y\nfrom sadl.b import z\nimport sadl.c as C\ndef f():\n    from sadl.d import w\nfrom . import e\n")
    assert sorted(_imports(t, {'e'})) == [('a', '_y', 1), ('a', 'x', 1), ('b', 'z', 2), ('c', None, 3), ('d', 'w', 5), ('e', None, 6)]
    assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a'] and _cycle({'a': {'b'}, 'b': set()}) is None

def test_every_module_has_a_floor():
    placed = [m for f in FLOORS for m in f]
    assert len(placed) == len(set(placed)), 'a module is on two floors'
    assert sorted(placed) == sorted(_modules()), 'FLOORS must list every sadl module exactly once'

def test_no_import_circle():
    edges = {m: {i[0] for i in imps} for m, imps in _graph().items()}
    c = _cycle(edges)
    assert c is None, 'import circle: ' + ' -> '.join(f'sadl.{m}' for m in c)

def test_imports_run_down_the_floors():
    floor = {m: i for i, f in enumerate(FLOORS) for m in f}
    up = sorted({f'sadl.{m}:{line} imports sadl.{n} (floor {floor.get(n)} > {floor.get(m)})'
                for m, imps in _graph().items() for n, _, line in imps if floor.get(n, -1) > floor.get(m, -1)})
    assert not up, 'imports from a higher floor:\n' + '\n'.join(up)

def test_no_private_name_from_another_module():
    bad = sorted(f'sadl.{m}:{line} imports {name} from sadl.{n}'
                 for m, imps in _graph().items() for n, name, line in imps if name and name.startswith('_'))
    assert not bad, 'private names imported across modules:\n' + '\n'.join(bad)
