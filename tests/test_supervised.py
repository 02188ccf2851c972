"""sadl.supervised: the in-domain supervised baseline exports the best-validation epoch's backbone,
which torchvision accepts, and resumes after an interruption. Tiny and CPU-only."""
import csv, json
import pytest, torch, torchvision
from fastai.callback.core import Callback
from sadl.synth import make_synthetic
import sadl.learner as L
import sadl.supervised as S

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def seg(tmp_path_factory):  # train/val 0.8/0.2
    return make_synthetic(tmp_path_factory.mktemp('seg'), 'seg', n=10, size=32, seed=2, progress=False)

class _Keep(Callback):
    order = 59
    def before_fit(self): self.w, self.iou = {}, {}
    def after_epoch(self):
        if getattr(self.learn, 'skipped_epoch', False): return
        self.w[self.epoch] = self.learn.model.encoder.backbone.conv1.weight.detach().cpu().clone()   # the export is on the CPU
        self.iou[self.epoch] = float(next(m for m in self.learn.metrics if m.name == 'iou').value)

def test_best_epoch_exported_and_resume(seg, tmp_path, monkeypatch):
    keep = _Keep()
    orig_learner = S.supervised_learner
    monkeypatch.setattr(S, 'supervised_learner', lambda dls, cfg, precision='auto', cbs=None: orig_learner(dls, cfg, precision, [*(cbs or []), keep]))
    orig = L.Checkpoint.after_epoch
    def crash(self):
        orig(self)
        if self.epoch == 1: raise KeyboardInterrupt
    monkeypatch.setattr(L.Checkpoint, 'after_epoch', crash)
    run = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt): S.pretrain_supervised(seg, run, epochs=3, bs=4, channels=8, progress=False)
    w, iou = dict(keep.w), dict(keep.iou)                   # epochs 0 and 1 (epoch 1 was checkpointed, then cut)
    monkeypatch.setattr(L.Checkpoint, 'after_epoch', orig)
    bb = S.pretrain_supervised(seg, run, epochs=3, bs=4, channels=8, progress=False)
    assert set(keep.w) == {2}                               # only the remaining epoch ran
    w.update(keep.w); iou.update(keep.iou)
    best = max(sorted(iou), key=lambda e: iou[e])            # earliest of the best
    assert json.loads((run/'best.json').read_text())['epoch'] == best
    assert torch.equal(torch.load(bb, weights_only=True)['conv1.weight'], w[best])
    res = torchvision.models.resnet18().load_state_dict(torch.load(bb, weights_only=True), strict=False)
    assert sorted(res.missing_keys) == ['fc.bias', 'fc.weight'] and res.unexpected_keys == []
    rows = list(csv.DictReader(open(run/'history.csv')))
    assert [r['epoch'] for r in rows] == ['0', '1', '2']
    assert float(rows[-1]['train_loss']) < float(rows[0]['train_loss'])   # cross-entropy falls

def test_needs_val_split(tmp_path):
    d = make_synthetic(tmp_path/'seg', 'seg', n=4, size=32, seed=0, progress=False, splits={'train': 1.0})
    with pytest.raises(ValueError, match='val.txt'): S.pretrain_supervised(d, tmp_path/'x', epochs=1, bs=2, progress=False)

def test_dispatch(seg, tmp_path):
    assert L.pretrain(seg, tmp_path/'sup', epochs=1, bs=4, method='insup', progress=False).is_file()
