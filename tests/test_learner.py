"""sadl.learner: every ablation switch runs, the exported backbone loads into torchvision, an
interrupted run resumes at the right epoch, 'natural' view 3 from a folder with B/. Tiny and CPU-only."""
import csv, math
from pathlib import Path
import pytest, torch, torchvision
from fastai.data.core import DataLoaders
from fastai.torch_core import set_seed
from sadl.data import SegPatches, CDPatches, PatchDL
from sadl.synth import make_synthetic, synth_scene
from sadl.tiling import save_cd_sample, write_splits
import sadl.learner as L
from fakes import killed_after_epoch

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def seg(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('seg'), 'seg', n=4, size=64, seed=1, progress=False, splits={'train': 1.0})

@pytest.fixture(scope='module')
def tiles():
    s = [synth_scene(64, 2, i) for i in range(2)]
    return (torch.stack([torch.from_numpy(x['image']).permute(2, 0, 1) for x in s]),
            torch.stack([torch.from_numpy(x['mask']) for x in s]))

def _dls(ds, bs=2): return DataLoaders(PatchDL(ds, bs=bs, device='cpu'), PatchDL(ds, bs=bs), device='cpu')

def _fit_one(dls, **kw):
    set_seed(0)
    learn = L.sadl_learner(dls, size=32, n_points=2, **kw)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    names = list(learn.recorder.metric_names)[1:]
    return dict(zip(names, learn.recorder.values[-1]))

ABLATIONS = [dict(pool='global', sd=False, swap=None),                       # SimSiam baseline
             dict(pool='masked', sd=False, swap=None), dict(pool='masked', sd=True, swap='blend'),
             dict(pool='sample', sd=False, swap=None),                       # +MS
             dict(pool='sample', sd=True, swap=None),                        # +SD
             *[dict(pool='sample', sd=True, swap=s) for s in ('blend', 'color', 'paste')],  # +BS variants
             dict(pool='sample', sd=False, swap='blend')]

@pytest.mark.parametrize('kw', ABLATIONS, ids=lambda kw: '-'.join(f'{k}={v}' for k, v in kw.items()))
def test_ablation_runs(tiles, kw):
    vals = _fit_one(_dls(SegPatches.from_tensors(*tiles)), **kw)
    assert all(v is not None and math.isfinite(v) for v in vals.values()), vals
    if not kw['sd']: assert vals['l_sd'] == 0
    if kw['swap'] is None: assert vals['l_s2'] == 0

def test_natural_in_memory(tiles):
    img, mask = tiles
    vals = _fit_one(_dls(CDPatches.from_tensors(img, img.flip(-1), mask)), swap='natural')
    assert math.isfinite(vals['loss'])

def test_global_needs_switches_off(tiles):
    with pytest.raises(ValueError, match='--no_sd --no_bs'): L.sadl_learner(_dls(SegPatches.from_tensors(*tiles)), pool='global')

def test_export_loads_into_torchvision(seg, tmp_path):
    bb = L.pretrain(seg, tmp_path/'run', epochs=1, bs=2, size=32, n_points=2, progress=False)
    res = torchvision.models.resnet18().load_state_dict(torch.load(bb, weights_only=True), strict=False)
    assert sorted(res.missing_keys) == ['fc.bias', 'fc.weight'] and res.unexpected_keys == []
    # the exported weights are the trained ones, not a fresh init
    ck = torch.load(tmp_path/'run'/'checkpoint.pth', weights_only=False)
    assert torch.equal(torch.load(bb, weights_only=True)['conv1.weight'], ck['model']['encoder.encoder.backbone.conv1.weight'].cpu())   # the export is on the CPU whatever the device
    # the CLI refuses to overwrite a run unless told to resume (its --help is tested in the notebook)
    from sadl.cli import sadl_pretrain
    with pytest.raises(FileExistsError, match='--resume'): sadl_pretrain(str(seg), str(tmp_path/'run'), epochs=1, bs=2, size=32, n_points=2, debug=True)

def test_resume_after_interruption(seg, tmp_path, monkeypatch):
    out = tmp_path/'run'
    killed_after_epoch(monkeypatch, lambda: L.pretrain(seg, out, epochs=4, bs=2, size=32, n_points=2, progress=False), epoch=1)
    assert not (out/'backbone.pth').exists()
    assert torch.load(out/'checkpoint.pth', weights_only=False)['epoch'] == 1
    seen = []
    orig_before = L.SaDLViewsCallback.before_batch
    def spy(self): seen.append(self.epoch); orig_before(self)
    monkeypatch.setattr(L.SaDLViewsCallback, 'before_batch', spy)
    L.pretrain(seg, out, epochs=4, bs=2, size=32, n_points=2, progress=False)
    assert sorted(set(seen)) == [2, 3]                               # only the remaining epochs ran
    rows = list(csv.DictReader(open(out/'history.csv')))
    assert [r['epoch'] for r in rows] == ['0', '1', '2', '3']
    lrs = [float(r['lr']) for r in rows]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))                   # the poly schedule carried on
    assert (out/'backbone.pth').is_file()

def test_natural_from_folder(tmp_path):
    root = tmp_path/'bitemp'
    names = []
    for i in range(4):
        s = synth_scene(64, 3, i)
        save_cd_sample(root, f'p{i}', s['image'], s['image'][::-1].copy(), s['mask'])  # label/ = building mask of A
        names.append(f'p{i}')
    write_splits(root, names, {'train': 1.0})
    bb = L.pretrain(root, tmp_path/'nat', epochs=1, bs=2, size=32, n_points=2, swap='natural', progress=False)
    assert bb.is_file()

def test_natural_needs_b(seg, tmp_path):
    with pytest.raises(ValueError, match='needs'):
        L.pretrain(seg, tmp_path/'x', epochs=1, bs=2, size=32, swap='natural', progress=False)

def test_resume_gives_the_uninterrupted_losses(seg, tmp_path, monkeypatch):
    "A run killed after epoch 0 and resumed has the losses of the run that was never stopped (every random state restored)."
    kw = dict(epochs=3, bs=2, size=32, n_points=2, progress=False, device='cpu')
    L.pretrain(seg, tmp_path/'straight', **kw)
    killed_after_epoch(monkeypatch, lambda: L.pretrain(seg, tmp_path/'resumed', **kw))
    torch.manual_seed(123); import random, numpy as np; random.seed(5); np.random.seed(5)   # a new process: other global states
    L.pretrain(seg, tmp_path/'resumed', **kw)
    rows = [list(csv.DictReader(open(tmp_path/d/'history.csv'))) for d in ('straight', 'resumed')]
    assert [r['epoch'] for r in rows[1]] == ['0', '1', '2']
    for a, b in zip(*rows):
        for k in ('loss', 'l_sd', 'l_s1', 'l_s2', 'collapse_std', 'missing', 'lr'): assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-5, abs=1e-7), (k, a, b)
    w = [torch.load(tmp_path/d/'backbone.pth', weights_only=True) for d in ('straight', 'resumed')]
    for k in w[0]: torch.testing.assert_close(w[0][k], w[1][k], rtol=1e-4, atol=1e-5)
