"""One rank of the 2-process CPU (gloo) test in test_distributed.py; run by `torchrun --nproc_per_node 2`.

    ddp_worker.py DATA CD OUT

1. one DDP step of `SaDLSiamese` (pool='global', BatchNorm frozen) on this rank's half of a fixed batch;
   saves the weights and loss to OUT/step{rank}.pt (the test compares them with one process on the whole batch);
2. `pretrain` for 2 epochs with bs 2 per rank; saves this rank's final weights (OUT/weights{rank}.pt) and the
   patches it saw each epoch (OUT/seen{rank}.json); then resumes that run to 3 epochs (OUT/resumed{rank}.pt);
3. `finetune` (sadl.cd) for 2 epochs with bs 2 per rank; saves the test metrics this rank returned (OUT/ft{rank}.json).
"""
import json, sys
from pathlib import Path
import torch, torch.nn as nn
torch.set_num_threads(1)
from torch.nn.parallel import DistributedDataParallel
import sadl.learner as L
import sadl.train as T
from sadl.model import SaDLModel

def step_batch():
    "The fixed batch of views (same on every rank) and a model with frozen BatchNorm."
    g = torch.Generator().manual_seed(1)
    img = (torch.rand(4, 3, 48, 48, generator=g) * 255).to(torch.uint8)
    mask = (torch.rand(4, 48, 48, generator=g) > .5).to(torch.uint8)
    cb = L.SaDLViewsCallback(size=32, n_points=2, swap=None, pool='global', seed=0, channels_last=False)
    cb.gen = torch.Generator().manual_seed(0)                 # the same views on every rank
    xb, yb = cb.make_batch(img, mask)
    torch.manual_seed(0)
    model = L.SaDLSiamese(SaDLModel('global')).train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm): m.eval()
    return model, xb, yb

def one_step(model, xb, yb):
    loss = L.SaDLLossFunc(sd=False, s2=False, pool='global')(model(*xb), *yb)
    loss.backward()
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5).step()
    return loss.detach()

def main(data, cd, out):
    out = Path(out)
    dev, own = L.distrib_setup('cpu')
    r, w = T.get_rank(), T.get_world_size()
    assert w == 2, w
    # 1. one step on this rank's half
    model, xb, yb = step_batch()
    half = lambda x: None if x is None else x[2 * r:2 * (r + 1)]
    loss = one_step(DistributedDataParallel(model), tuple(half(x) for x in xb), (half(yb[0]),))
    torch.save(dict(loss=T.all_sum(loss) / w, sd=model.state_dict()), out/f'step{r}.pt')
    # 2. pretrain; record the weights at the end and the patches seen per epoch
    seen = {}
    orig_before = L.SaDLViewsCallback.before_batch
    def spy(self):
        seen.setdefault(self.epoch, []).extend(self.xb[0].flatten(1)[:, :64].sum(1).tolist())  # a fingerprint per patch
        orig_before(self)
    L.SaDLViewsCallback.before_batch = spy
    orig_after = L.BackboneExport.after_fit
    def keep(self):
        torch.save(T.bare_model(self.learn.model).state_dict(), out/f'weights{r}.pt'); orig_after(self)
    L.BackboneExport.after_fit = keep
    L.pretrain(data, out/'run', epochs=2, bs=2, size=32, n_points=2, progress=False, device='cpu')
    (out/f'seen{r}.json').write_text(json.dumps(seen))
    # 2b. resume on 2 ranks: the 2-epoch run relabelled as cut short of 3 epochs continues at epoch 2
    if r == 0:
        ck = torch.load(out/'run'/'checkpoint.pth', weights_only=False); ck['config']['epochs'] = 3
        torch.save(ck, out/'run'/'checkpoint.pth'); (out/'run'/'backbone.pth').unlink()
    torch.distributed.barrier()
    L.BackboneExport.after_fit = lambda self: (torch.save(T.bare_model(self.learn.model).state_dict(), out/f'resumed{r}.pt'), orig_after(self))
    L.pretrain(data, out/'run', epochs=3, bs=2, size=32, n_points=2, progress=False, device='cpu', resume=True)
    # 3. fine-tuning
    import sadl.cd as C
    orig_hist = C._history
    def hist(learn, *args, **kwargs):
        df = orig_hist(learn, *args, **kwargs); df.to_csv(out/f'fthist{r}.csv', index=False); return df
    C._history = hist
    test = C.finetune(cd, out/'ft', epochs=2, bs=2, progress=False, device='cpu', channels=8)
    (out/f'ft{r}.json').write_text(json.dumps(test))
    torch.distributed.destroy_process_group()

if __name__ == '__main__': main(*sys.argv[1:4])
