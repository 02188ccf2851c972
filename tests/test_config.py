"`sadl.config`: torch-free, checked option names, JSON round trip, and the library's signatures follow it."
import inspect, json, subprocess, sys
import pytest
from sadl.config import PretrainConfig, FinetuneConfig, POOLS, SWAPS, SWAP_MODES

def test_import_loads_no_torch():
    r = subprocess.run([sys.executable, '-c', "import sys, sadl.config; print([m for m in ('torch', 'fastai', 'numpy') if m in sys.modules])"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '[]'

def test_make_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown option 'n_point' .*'n_points'"): PretrainConfig.make(n_point=4)
    with pytest.raises(ValueError, match="FinetuneConfig: unknown option 'lr_max'"): FinetuneConfig.make(lr_max=1)

def test_save_load_round_trip(tmp_path):
    c = PretrainConfig.make(epochs=3, size=64, swap=None, pool='masked', sd=False)
    c.save(tmp_path/'c.json', device='cpu')
    assert json.loads((tmp_path/'c.json').read_text())['device'] == 'cpu'
    assert PretrainConfig.load(tmp_path/'c.json') == c
    assert [p.name for p in tmp_path.iterdir()] == ['c.json']

def test_names_defined_once():
    import sadl.learner as L, sadl.views as V
    assert L.POOLS is POOLS and L.SWAPS is SWAPS and V.SWAP_MODES is SWAP_MODES and L.PretrainConfig is PretrainConfig

def test_signatures_follow_the_configs():
    import sadl.learner as L, sadl.cd as C
    for f, cls in ((L.pretrain, PretrainConfig), (L.sadl_learner, PretrainConfig), (C.finetune, FinetuneConfig)):
        ps = inspect.signature(f).parameters
        for k, v in ((k, v) for k, v in ps.items() if k in cls.names()): assert v.default == getattr(cls(), k), (f.__name__, k)
    assert 'size' in inspect.signature(L.pretrain).parameters and 'momentum' in inspect.signature(L.sadl_learner).parameters

def test_keyword_calls_and_cfg_agree(tmp_path, monkeypatch):
    "pretrain(data, out, epochs=3, size=64) and pretrain(data, out, PretrainConfig.make(epochs=3, size=64)) build the same configuration."
    import sadl.learner as L
    seen = []
    monkeypatch.setattr(L, 'pretrain_baseline', lambda method, data, out, **kw: seen.append(kw) or out)
    L.pretrain('d', 'o', epochs=3, size=64, method='moco', progress=False)
    L.pretrain('d', 'o', PretrainConfig.make(epochs=3, size=64, method='moco'), progress=False)
    assert seen[0] == seen[1] and seen[0]['epochs'] == 3 and seen[0]['size'] == 64
    with pytest.raises(TypeError, match='pass a PretrainConfig'): L.pretrain('d', 'o', 3)

def test_delegated_options_have_docments():
    "show_doc reads the docments of the options `pretrain`/`finetune` take as keyword arguments from the config classes."
    from fastcore.docments import docments
    import sadl.learner as L, sadl.cd as C
    assert docments(L.pretrain)['n_points'] == docments(PretrainConfig)['n_points'] == 'Points per class and view (paper: 16)'
    assert docments(C.finetune)['frac'].startswith('Fraction of the training labels')
    assert docments(L.pretrain)['cache'].startswith('Decoded patches')
