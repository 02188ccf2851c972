"""CUDA-only checks of the pre-training step (skipped without a GPU): no host synchronisation inside a
training step (`torch.cuda.set_sync_debug_mode('error')`), batches from a GPU-resident or pinned host
dataset without a sync, the same batches either way, and the torch.compile path."""
import math
import pytest, torch
from fastai.callback.core import Callback
from fastai.torch_core import set_seed
from sadl.synth import make_synthetic
from sadl.data import seg_dataloaders
import sadl.learner as L

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

@pytest.fixture(scope='module')
def seg(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp('seg'), 'seg', n=16, size=64, seed=1, progress=False, splits={'train': 1.0})

class _SyncOn(Callback):
    "From the start of each training step after `warm` steps, any host sync raises."
    order = -100  # before the views callback
    def __init__(self, warm=2): self.warm, self.n = warm, 0
    def before_batch(self):
        if self.training and self.n >= self.warm: torch.cuda.set_sync_debug_mode('error')

class _SyncOff(Callback):
    "...until the end of the step, after the recorder and the metrics."
    order = 1000
    def __init__(self, on): self.on = on
    def after_batch(self): torch.cuda.set_sync_debug_mode(0); self.on.n += 1
    def after_fit(self): torch.cuda.set_sync_debug_mode(0)

@pytest.mark.parametrize('on_device', [True, False])
@pytest.mark.parametrize('compile', [False, True])
def test_step_has_no_host_sync(seg, on_device, compile):
    set_seed(0)
    dls = seg_dataloaders(seg, bs=4, device='cuda', progress=False, on_device=on_device)
    on = _SyncOn()
    learn = L.sadl_learner(dls, size=32, n_points=4, compile=compile, cbs=[on, _SyncOff(on)])
    with learn.no_bar(), learn.no_logging(): learn.fit(2)      # 4 steps per epoch; steps 3-8 run under 'error'
    assert on.n == 8
    assert all(math.isfinite(v) for v in learn.recorder.values[-1][:5])

@pytest.mark.parametrize('on_device', [True, False])
def test_loader_has_no_host_sync(seg, on_device):
    dls = seg_dataloaders(seg, bs=4, device='cuda', progress=False, on_device=on_device)
    assert dls.train_ds.device.type == ('cuda' if on_device else 'cpu')
    next(iter(dls.train))                                      # warm-up (allocators)
    torch.cuda.set_sync_debug_mode('error')
    try: bs = list(dls.train)
    finally: torch.cuda.set_sync_debug_mode(0)
    assert len(bs) == 4 and all(x.device.type == 'cuda' for b in bs for x in b)

def test_on_device_gives_the_same_batches(seg):
    a, b = (seg_dataloaders(seg, bs=4, device='cuda', progress=False, on_device=o) for o in (False, True))
    for x, y in zip(a.train, b.train):
        for u, v in zip(x, y): assert torch.equal(u, v)

def test_pretrain_on_cuda_with_cache_and_device_data(seg, tmp_path):
    bb = L.pretrain(seg, tmp_path/'run', epochs=1, bs=4, size=32, n_points=4, progress=False, device='cuda',
                    cache='memmap', on_device=True, compile=False)
    assert bb.is_file()

@pytest.mark.parametrize('kind', ['finetune', 'insup'])
def test_resume_on_cuda(seg, tmp_path, monkeypatch, kind):
    "A run cut after its first epoch resumes on the GPU: the optimiser state comes back on the parameters' device (torch's SGD, `sadl.train.sadl_opt`)."
    from sadl.train import Checkpoint
    from sadl.cd import finetune
    from sadl.supervised import pretrain_supervised
    if kind == 'finetune':
        data = make_synthetic(tmp_path/'cd', 'cd', n=12, size=64, seed=0, progress=False)
        run = lambda: finetune(data, tmp_path/'run', device='cuda', epochs=3, bs=2, epoch_size=4, width=8, channels=8, progress=False)
    else:
        data = make_synthetic(tmp_path/'seg2', 'seg', n=12, size=64, seed=0, progress=False)
        run = lambda: pretrain_supervised(data, tmp_path/'run', device='cuda', epochs=3, bs=4, channels=8, progress=False)
    orig = Checkpoint.after_epoch
    def cut(self):
        orig(self)
        if self.epoch == 0: raise KeyboardInterrupt
    monkeypatch.setattr(Checkpoint, 'after_epoch', cut)
    with pytest.raises(KeyboardInterrupt): run()
    monkeypatch.setattr(Checkpoint, 'after_epoch', orig)
    run()                                                     # failed with "Expected all tensors to be on the same device" before the fix
    assert (tmp_path/'run'/'history.csv').read_text().count('\n') == 4   # header and epochs 0-2
