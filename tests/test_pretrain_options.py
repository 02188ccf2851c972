"""Issue 18's pre-training options (`PretrainConfig.warmup`, `crop_scale`): they reach SaDL's schedule and
views, the baselines refuse them, a run made before they existed resumes, and `sadl_pretrain` parses them.
Tiny and CPU-only."""
import json
import pytest, torch
from fastai.callback.core import Callback
from fastai.callback.schedule import ParamScheduler
from fastai.data.core import DataLoaders
from sadl.config import PretrainConfig
from sadl.data import SegPatches, PatchDL
from sadl.synth import make_synthetic
from sadl.train import poly_lr, SaDLViewsCallback, check_same_run
from fakes import killed_after_epoch
import sadl.learner as L

torch.set_num_threads(1)
SMALL = dict(size=32, n_points=2, width=8, channels=16, proj_dim=32)

@pytest.fixture(scope='module')
def seg(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('seg'), 'seg', n=8, size=64, seed=1, progress=False, splits={'train': 1.0})

def _dls(seg, bs=2):
    ds = SegPatches(seg, 'train', progress=False)
    return DataLoaders(PatchDL(ds, bs=bs, device='cpu'), PatchDL(ds, bs=bs), device='cpu')

class LrLog(Callback):
    "The learning rate of each training step, as the optimiser holds it."
    order = ParamScheduler.order + 1
    def before_fit(self): self.lrs = []
    def before_batch(self):
        if self.training: self.lrs.append(self.opt.hypers[0]['lr'])

def _cb(learn, cls): return next(cb for cb in learn.cbs if isinstance(cb, cls))

def test_defaults_are_the_papers_schedule_and_crops(seg):
    learn = L.sadl_learner(_dls(seg), **SMALL)
    assert _cb(learn, SaDLViewsCallback).scale == (0.8, 1.0)
    f, ref = _cb(learn, ParamScheduler).scheds['lr'], poly_lr(0.01, 1e-5, 0.9)
    assert [f(i / 20) for i in range(21)] == [ref(i / 20) for i in range(21)]      # value for value

def test_warmup_and_crop_scale_reach_the_run(seg):
    log = LrLog()
    learn = L.sadl_learner(_dls(seg), lr=0.05, warmup=0.5, crop_scale=(0.3, 0.6), cbs=[log], **SMALL)
    assert _cb(learn, SaDLViewsCallback).scale == (0.3, 0.6)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)                        # 8 patches, bs 2: 4 steps
    want = [poly_lr(0.05, 1e-5, 0.9, 0.5)(i / 4) for i in range(4)]
    assert log.lrs == pytest.approx(want) and log.lrs[0] == pytest.approx(1e-5) and log.lrs[1] < log.lrs[2]   # rising, then the decay

def test_baselines_refuse_them(seg, tmp_path):
    for m in ('moco', 'insup'): assert {'warmup', 'crop_scale'} <= set(L.unused_options(m))
    assert L.for_method(PretrainConfig(method='moco', warmup=0.1, crop_scale=(0.5, 1.))) == PretrainConfig(method='moco')
    with pytest.raises(ValueError, match=r"method='moco' does not use warmup=0.1"):
        L.pretrain(seg, tmp_path/'moco', method='moco', warmup=0.1, epochs=1, bs=2, progress=False, device='cpu')
    assert not (tmp_path/'moco').exists()

def test_a_run_made_before_them_resumes(seg, tmp_path, monkeypatch):
    "A checkpoint whose configuration lacks the two options (an earlier version's) resumes: missing options take their defaults."
    kw = dict(epochs=2, bs=4, progress=False, device='cpu', **SMALL)
    killed_after_epoch(monkeypatch, lambda: L.pretrain(seg, tmp_path/'run', **kw))
    ck = tmp_path/'run'/'checkpoint.pth'
    st = torch.load(ck, weights_only=False)
    for k in ('warmup', 'crop_scale'): del st['config'][k]                       # as a checkpoint of an earlier version holds it
    torch.save(st, ck)
    check_same_run(ck, st['config'], PretrainConfig.make(epochs=2, bs=4, **SMALL))
    with pytest.raises(ValueError, match=r"warmup: 0.0 -> 0.1"): check_same_run(ck, st['config'], PretrainConfig.make(epochs=2, bs=4, warmup=0.1, **SMALL))
    L.pretrain(seg, tmp_path/'run', **kw)                                        # resumed, not refused
    assert [l.split(',')[0] for l in (tmp_path/'run'/'history.csv').read_text().splitlines()[1:]] == ['0', '1']
    saved = json.loads((tmp_path/'run'/'config.json').read_text())
    assert (saved['warmup'], saved['crop_scale']) == (0., [0.8, 1.0])
    assert PretrainConfig.load(tmp_path/'run'/'config.json') == PretrainConfig.make(epochs=2, bs=4, **SMALL)

def test_sadl_pretrain_parses_them(seg, tmp_path, console):
    h = console('sadl_pretrain', '--help').stdout
    assert '--warmup WARMUP' in h and '--crop_scale CROP_SCALE CROP_SCALE' in h, h
    r = console('sadl_pretrain', '--data', seg, '--out', tmp_path/'run', '--epochs', '1', '--bs', '4', '--size', '32', '--n_points', '2',
                '--width', '8', '--channels', '16', '--proj_dim', '32', '--device', 'cpu', '--no_check',
                '--warmup', '0.2', '--crop_scale', '0.5', '1')
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path/'run'/'config.json').read_text())
    assert (saved['warmup'], saved['crop_scale']) == (0.2, [0.5, 1.0])
    r = console('sadl_pretrain', '--data', seg, '--out', tmp_path/'bad', '--crop_scale', '0.9', '0.5')
    assert r.returncode == 2 and r.stderr == 'sadl_pretrain: error: --crop_scale (0.9, 0.5): give (min, max) crop areas with 0 < min <= max <= 1 (paper: (0.8, 1.0))\n', r.stderr
