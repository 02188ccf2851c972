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
        'simsiam': '44f8233a25e0', 'masked': 'bbdc9605674a', 'ms': 'f44559d918c9', 'ms_sd': 'cf90c980fc3e',
        'sadl': 'ef635e1f9c4d', 'sadl_paste': 'eae065a271fb', 'sadl_color': '44dec8ad65d5', 'sadl_natural': 'f9536655ac23',
        'sadl_n1': 'c9e52bdc2614', 'sadl_n4': 'ab6f37ddcd61', 'sadl_n64': '3a86823f10da', 'insup': 'b9a730f33d49',
        'moco': 'ca33400edf76', 'densecl': '9681cc947dd3', 'cmc': 'f84e6f9401dd', 'seco': '4c737bb656ff',
        'insup/seed1': 'ec361ccffa9b', 'sadl/seed1': '93b8b3542d38', 'insup/seed2': 'a9b706d7bda7', 'sadl/seed2': 'a563b8a78ae8',
    }   # seed 0: recorded when the tiny preset moved to width 16, fp32 and fine-tuning to convergence; seeds 1, 2: paired pre-training (issue 17)
    assert ft == {
        'random/0.05/0': 'b4fadf7b6aa5', 'random/0.05/1': 'b0f43eddb3f8', 'random/0.05/2': '178ed857c660', 'random/0.2/0': 'c9ba300d5cc5',
        'random/0.2/1': '594a380e14b9', 'random/0.2/2': '506b11ea2c41', 'random/1/0': 'a039af598e09', 'random/1/1': '121a5d6bc633',
        'random/1/2': 'b0d27c77052a', 'insup/0.05/0': '089aaabbb453', 'insup/0.05/1': '81b514febad6', 'insup/0.05/2': 'd907a971bbda',
        'insup/0.2/0': '2b6cd8df3463', 'insup/0.2/1': '13018b4df1ef', 'insup/0.2/2': '3bc93a2342b1', 'insup/1/0': 'cd3b99c01eba',
        'sadl/0.05/0': '4187cd0a2306', 'sadl/0.05/1': '34cc6f5103cb',
        'sadl/0.05/2': '8be74aab77af', 'sadl/0.2/0': 'ab1f799a3a9e', 'sadl/0.2/1': '8d203a68b2cf', 'sadl/0.2/2': 'ca52b0c3bebd',
        'sadl/1/0': '660602e7a602',
    }   # recorded when tiny's patience grew to a third of the run (issue 17); at 100% the pre-trained inits run seed 0 only (`Preset.one_seed_fracs`)
