"Data preparation and configuration handling of `sadl_reproduce` (the full grid runs in `make demo`)."
import dataclasses, subprocess, sys
from pathlib import Path
import pytest
from sadl.reproduce import PRESETS, METHODS, prepare_data, run_key, reproduce
from sadl.data import SegPatches, CDPatches
from sadl.tiling import SadlDataError

def _tiny_small():
    p = dataclasses.replace(PRESETS['small'])
    p.seg, p.cd = dict(synth=8, size=128, real=True), dict(synth=8, size=128, real=True)
    return p

def test_small_data_mixes_synthetic_and_real(tmp_path, shared_data):
    d = prepare_data(_tiny_small(), tmp_path, progress=False)
    seg = SegPatches(d['seg'], split=None, progress=False)
    cd = CDPatches(d['cd'], split=None, progress=False)
    # 8 synthetic + 8 Inria patches cut into 4 each; 8 synthetic + (11 LEVIR + 10 DSIFN) x 4
    assert len(seg) == 8 + 8*4 and seg.images.shape[-1] == 128
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
    from sadl.reproduce import pretrain_all, finetune_all
    def fake_pretrain(data, out, *a, **kw):
        (Path(out)/'backbone.pth').write_text('x'); return Path(out)/'backbone.pth'
    def fake_finetune(data, out, *a, **kw):
        (Path(out)/'metrics.json').write_text(json.dumps(dict(precision=.5, recall=.5, f1=.5, iou=.3, ap=.5, best_epoch=0)))
    monkeypatch.setattr(sadl.learner, 'pretrain', fake_pretrain); monkeypatch.setattr(sadl.cd, 'finetune', fake_finetune)
    monkeypatch.chdir(tmp_path)                          # relative paths: keys do not depend on tmp_path
    p, out = PRESETS['tiny'], Path('runs')
    bbs = pretrain_all(p, Path('data/seg'), out, progress=False)
    df = finetune_all(p, Path('data/cd'), out, {'random': 'random', **bbs}, progress=False)
    Path('data/seg/B').mkdir(parents=True)               # every method, 'seco' and 'sadl_natural' included
    pretrain_all(dataclasses.replace(p, methods=list(METHODS)), Path('data/seg'), out, progress=False)
    pre = {m: (out/'pretrain'/m/'run_key.txt').read_text() for m in METHODS}
    return pre, {f'{r.init}/{r.frac:g}/{r.seed}': r.run_key for r in df.itertuples()}

def test_run_keys_of_tiny_unchanged(tmp_path, monkeypatch):
    "Cached runs on users' disks are found by key: refactoring the configuration must not change the keys."
    pre, ft = _keys_of_tiny(tmp_path, monkeypatch)
    assert pre == {
        'simsiam': '67d3b216304b', 'masked': '42302fdacb13', 'ms': 'fd3964ac56b2', 'ms_sd': '1a220af5bb3e',
        'sadl': 'c28de8583a96', 'sadl_paste': 'a82684d88609', 'sadl_color': '67fe04cb695f', 'sadl_natural': 'd9e023dded0f',
        'sadl_n1': 'c4304d02ed87', 'sadl_n4': '8c77b0841616', 'sadl_n64': '0f84325ca140', 'insup': '7deedddd8781',
        'moco': '4a0819c3b177', 'densecl': 'de1efd6411b9', 'cmc': 'f5984a0b4f3a', 'seco': '0ce75c8b39f6',
    }   # recorded before the configuration moved to sadl.config (issue 11)
    assert ft == {
        'random/0.05/0': 'd171ce05a87d', 'random/0.05/1': '23cded83d06d', 'random/0.05/2': '3f3ee6d55421', 'random/0.2/0': 'a4d79b26134d',
        'random/0.2/1': 'cf32d08534d6', 'random/0.2/2': '5a86854b4f3d', 'random/1/0': '3f6b2e7fda7b', 'random/1/1': 'c61ff8ba6a2e',
        'random/1/2': 'aff8e4477e59', 'simsiam/0.05/0': '1880293082ea', 'simsiam/0.05/1': '6b6bbd03f19f', 'simsiam/0.05/2': '921afd09d998',
        'simsiam/0.2/0': '8ae104f84c07', 'simsiam/0.2/1': '6bb83e3e0c0d', 'simsiam/0.2/2': '3f92e148dc84', 'simsiam/1/0': 'ba1e3160d851',
        'simsiam/1/1': '10d145562dd6', 'simsiam/1/2': '47bcdd985173', 'sadl/0.05/0': '764f425c1b47', 'sadl/0.05/1': 'dcb772642010',
        'sadl/0.05/2': 'd531dc32e6bb', 'sadl/0.2/0': '78456799a460', 'sadl/0.2/1': '05a41a05eb70', 'sadl/0.2/2': 'f92509e64b38',
        'sadl/1/0': '659ba3f68f03', 'sadl/1/1': 'b9514a01ea4d', 'sadl/1/2': '04aa78465115',
    }
