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

def test_by_method_overrides(tmp_path, monkeypatch):
    "A preset's per-method options reach that method's pre-training only; an unknown method there is refused."
    import sadl.learner
    from sadl.reproduce import _preset_for, pretrain_all
    p = _preset_for('tiny', None, None, None, None, None, None, False)
    assert p.by_method == {'insup': {'lr': 0.1}} and p.pretrain['lr'] == 0.2
    seen = {}
    def fake_pretrain(data, out, cfg, **kw):
        seen[Path(out).name] = cfg.lr; (Path(out)/'backbone.pth').write_text('x')
    monkeypatch.setattr(sadl.learner, 'pretrain', fake_pretrain)
    monkeypatch.chdir(tmp_path)
    pretrain_all(p, Path('seg'), Path('runs'), progress=False)   # seed 0 only (`pretrain_all`'s default)
    assert seen == {'insup': 0.1, 'sadl': 0.2}
    monkeypatch.setitem(PRESETS, 'bad', dataclasses.replace(PRESETS['tiny'], by_method={'nope': {'lr': 1}}))
    with pytest.raises(ValueError, match="unknown method 'nope'"): _preset_for('bad', None, None, None, None, None, None, False)

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
        'sadl_n1': 'c9e52bdc2614', 'sadl_n4': 'ab6f37ddcd61', 'sadl_n64': '3a86823f10da', 'insup': '444fee9308a7',
        'moco': 'ca33400edf76', 'densecl': '9681cc947dd3', 'cmc': 'f84e6f9401dd', 'seco': '4c737bb656ff',
        'insup/seed1': 'a24581ec5df5', 'sadl/seed1': '93b8b3542d38', 'insup/seed2': 'db195b88953d', 'sadl/seed2': 'a563b8a78ae8',
    }   # seed 0: recorded when the tiny preset moved to width 16, fp32 and fine-tuning to convergence; seeds 1, 2: paired pre-training (issue 17); insup: its own lr of 0.1 (`Preset.by_method`)
    assert ft == {
        'random/0.05/0': '5878ef80b07a', 'random/0.05/1': '77d64dbeaf4c', 'random/0.05/2': '869be87f2aab', 'random/0.2/0': '83049f309945',
        'random/0.2/1': '0c7ada3c2887', 'random/0.2/2': '02e5bbf91fa5', 'random/1/0': '9fc5fddafaae', 'random/1/1': 'fff42c66386e',
        'random/1/2': '9977f2d97b6e', 'insup/0.05/0': '726af8b225c8', 'insup/0.05/1': 'e2b29fa98f2b', 'insup/0.05/2': 'd944f63a0386',
        'insup/0.2/0': 'd4dba70fc849', 'insup/0.2/1': '57284a7cd11b', 'insup/0.2/2': 'a26882e9679f', 'insup/1/0': '80101d808684',
        'sadl/0.05/0': '655131ab5a4a', 'sadl/0.05/1': 'eb38bc2babd3', 'sadl/0.05/2': 'a25836a6cedb', 'sadl/0.2/0': '62c642bdf03a',
        'sadl/0.2/1': '466449a9e4b1', 'sadl/0.2/2': '9e0b6758b1d2', 'sadl/1/0': '8c3ac8d213c3',
    }   # recorded when tiny's fine-tuning got the record guard (`FinetuneConfig.record_guard`, issue 17: in-domain supervision at 5% stopped "converged" on a new best, still creeping up), after the plateau guard (`small` had runs stop "converged" on the all-background plateau); at 100% the pre-trained inits run seed 0 only (`Preset.one_seed_fracs`); insup's runs: its own pre-training lr (`Preset.by_method`)
