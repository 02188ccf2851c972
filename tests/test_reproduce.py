"Data preparation and configuration handling of `sadl_reproduce` (the full grid runs in `make demo`)."
import dataclasses, subprocess, sys
from pathlib import Path
import pytest
from sadl.reproduce import PRESETS, METHODS, prepare_data, run_key, reproduce, pretrain_dir
from sadl.data import SegPatches, CDPatches
from sadl.tiling import SadlDataError

def _tiny_small():
    p = dataclasses.replace(PRESETS['small'])
    p.seg, p.cd = dict(synth=8, size=128, real=True), dict(synth=8, size=128, seed=2, real=True)   # other scenes (check_disjoint)
    return p

def test_small_data_mixes_synthetic_and_real(tmp_path, shared_data):
    d = prepare_data(_tiny_small(), tmp_path, progress=False)
    seg = SegPatches(d['seg'], split=None, progress=False)
    cd = CDPatches(d['cd'], split=None, progress=False)
    # 8 synthetic + 8 Inria patches cut into 4 each; 8 synthetic + (11 LEVIR + 10 DSIFN) x 4
    # 8 synthetic tiles + the Inria patches (8 scenes cut into 4) that hold a building: building-free ones are dropped, as in the paper
    inria = [i for i, n in enumerate(seg.names) if n.startswith('inria_')]
    assert len(seg) == 8 + len(inria) and 0 < len(inria) <= 8*4 and seg.images.shape[-1] == 128
    assert all(seg.masks[i].any() for i in inria)
    assert len(cd) == 8 + 21*4 and cd.a.shape[-1] == 128
    assert any(n.startswith('levir_') for n in cd.names) and any(n.startswith('dsifn_') for n in cd.names)
    # nothing of the real samples is copied: the combined folder links to files outside the repo
    assert all(f.is_symlink() for f in (d['cd']/'A').iterdir())
    # split lists cover every patch exactly once
    lists = [l for s in ('train', 'val', 'test') for l in (d['cd']/'list'/f'{s}.txt').read_text().split()]
    assert sorted(lists) == sorted(cd.names)
    # a second call reuses what is there
    assert prepare_data(_tiny_small(), tmp_path, progress=False) == d

def test_paper_preset_needs_user_data(tmp_path):
    with pytest.raises(SadlDataError, match='--seg DIR'): prepare_data(PRESETS['paper'], tmp_path)
    with pytest.raises(FileNotFoundError, match='no A/ sub-folder'):
        prepare_data(PRESETS['paper'], tmp_path, seg=str(tmp_path), cd=str(tmp_path))

def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'huge'"): reproduce('huge', out=tmp_path)
    with pytest.raises(ValueError, match="unknown method 'nope'"): reproduce('tiny', out=tmp_path, methods=['nope'])
    with pytest.raises(FileNotFoundError, match='imagenet.pth'): reproduce('tiny', out=tmp_path, imagenet=str(tmp_path/'imagenet.pth'))

def test_run_keys_follow_configuration():
    assert run_key({'epochs': 1, 'frac': 0.2}) == run_key({'frac': 0.2, 'epochs': 1})
    assert run_key({'epochs': 1}) != run_key({'epochs': 2})
    assert set(PRESETS['tiny'].methods) <= set(METHODS)

def test_cli_help(console):
    out = console('sadl_reproduce', '--help').stdout
    assert '--preset' in out and '--imagenet' in out

def _keys_of_tiny(tmp_path, monkeypatch):
    "Run keys `pretrain_all`/`finetune_all` give the tiny preset, with stand-ins for pre-training and fine-tuning."
    import json, sadl.learner, sadl.cd
    from sadl.reproduce import pretrain_all, finetune_all, pretrain_inits
    def fake_pretrain(data, out, *a, **kw):
        (Path(out)/'backbone.pth').write_text('x'); return Path(out)/'backbone.pth'
    def fake_finetune(data, out, *a, **kw):
        (Path(out)/'metrics.json').write_text(json.dumps(dict(precision=.5, recall=.5, f1=.5, iou=.3, ap=.5, best_epoch=0)))
    monkeypatch.setattr(sadl.learner, 'pretrain', fake_pretrain); monkeypatch.setattr(sadl.cd, 'finetune', fake_finetune)
    monkeypatch.chdir(tmp_path)                          # relative paths: keys do not depend on tmp_path
    p, out = PRESETS['tiny'], Path('runs')
    _, _, inits = pretrain_inits(p, Path('data/seg'), out, progress=False)   # paired: seeds 1 and 2 pre-train too
    assert inits['sadl'] == {s: pretrain_dir(out, s)/'sadl'/'backbone.pth' for s in (0, 1, 2)}
    df = finetune_all(p, Path('data/cd'), out, inits, progress=False)
    Path('data/seg/B').mkdir(parents=True)               # every method, 'seco' and 'sadl_natural' included
    pretrain_all(dataclasses.replace(p, methods=list(METHODS)), Path('data/seg'), out, progress=False)
    pre = {m: (out/'pretrain'/m/'run_key.txt').read_text() for m in METHODS}
    pre.update({f'{m}/seed{s}': (pretrain_dir(out, s)/m/'run_key.txt').read_text() for s in (1, 2) for m in p.methods})
    return pre, {f'{r.init}/{r.frac:g}/{r.seed}': r.run_key for r in df.itertuples()}

def test_run_keys_of_tiny_unchanged(tmp_path, monkeypatch):
    "Cached runs on users' disks are found by key: refactoring the configuration must not change the keys (a change of the preset does)."
    pre, ft = _keys_of_tiny(tmp_path, monkeypatch)
    assert pre == {
        'simsiam': 'dd7d500892c7', 'masked': '94833c4108ac', 'ms': '651c7fa150e0', 'ms_sd': '30ebdd2700e8',
        'sadl': '7cd95c17e84d', 'sadl_paste': 'f506a30305fc', 'sadl_color': 'a6ddaa8e8b36', 'sadl_natural': '1e34d605e32d',
        'sadl_n1': 'd9909455329c', 'sadl_n4': 'f0d52303a004', 'sadl_n64': '33abeccc6363', 'insup': 'f8c5c4c50b02',
        'moco': 'a5a8fb4e372c', 'densecl': '19abb2918700', 'cmc': 'e685617663b8', 'seco': 'ecd1a8dd729a',
        'insup/seed1': '1cfafeeaea87', 'sadl/seed1': 'e3a04e05fac6', 'insup/seed2': 'eea0e7123e23', 'sadl/seed2': 'a556994c9d20',
    }   # recorded when the tiny preset moved to width 8 (issue 17: the demo's time); seeds 1, 2: paired pre-training
    assert ft == {
        'random/0.05/0': '60128fa48e58', 'random/0.05/1': 'd351d3e1d3ab', 'random/0.05/2': 'ffcf0b8a866a', 'random/0.2/0': 'f118623085d7',
        'random/0.2/1': '38c24e4617ce', 'random/0.2/2': '812d3e96452a', 'random/1/0': '9ba0c76d7a7e', 'random/1/1': 'a03bdbee1c8f',
        'random/1/2': 'f911f6b76eda', 'insup/0.05/0': '0c06283a86b4', 'insup/0.05/1': 'd540201abeac', 'insup/0.05/2': '95d46fa96044',
        'insup/0.2/0': '48be898f9694', 'insup/0.2/1': '9b903b402815', 'insup/0.2/2': '47340bc5bcb2', 'insup/1/0': '5be91b7f1e3e',
        'insup/1/1': '87e37b6387ce', 'insup/1/2': '7304c6cdae8a', 'sadl/0.05/0': '8beaafc7f401', 'sadl/0.05/1': '33e317648305',
        'sadl/0.05/2': '94436e24e41f', 'sadl/0.2/0': '3dff32ebe3fe', 'sadl/0.2/1': '57097efc14d2', 'sadl/0.2/2': 'deb3d9b7ef83',
        'sadl/1/0': 'cbf3dc641810', 'sadl/1/1': '34315d21daaa', 'sadl/1/2': '47e1272fb968',
    }   # recorded when tiny moved to width 8 and a patience of a third of the run (issue 17)
