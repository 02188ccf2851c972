"""Test fixtures kept out of the library. `fake_runs` writes a runs folder in the layout of `sadl_reproduce`
(randomly initialised backbones, untrained CD models, made-up histories and metrics) so that the figure and
table functions of `sadl.analysis` run in seconds. Tests import it (`from fakes import fake_runs`: pytest puts
`tests/` on the path); `nbs/08_analysis.ipynb` loads it with `runpy.run_path('../tests/fakes.py')`."""
import json, os, shutil
from pathlib import Path
import numpy as np, pandas as pd, torch
from sadl.core import METRICS
from sadl.registry import method_switches
from sadl.model import ResNetFPN, export_backbone

def _fake_cd_state(seed:int, channels:int=8)->dict: # an untrained CD network in the `model.pth` format of `sadl.cd.finetune`
    from sadl.cd import CDNet, init_cd
    with torch.device('meta'): net = CDNet(channels=channels)  # skip torchvision's init: `init_cd` below redoes it
    init_cd(net.to_empty(device='cpu'), 'random', generator=torch.Generator().manual_seed(seed))
    return {'model': net.state_dict(), 'config': {'channels': channels, 'seed': seed, 'fake': True}}

def _link(src:Path, dst:Path): # hard link, else copy
    try: os.link(src, dst)
    except OSError: shutil.copyfile(src, dst)

def fake_runs(
    out:str|Path, # Folder to write (created)
    inits:tuple=('random', 'simsiam', 'sadl'), # Initialisations; non-baseline ones get a pretrain/<init>/ run
    fracs:tuple=(0.05, 1.0), # Label fractions
    seeds:tuple=(0, 1), # Fine-tuning seeds
    epochs:int=3, # Rows per history
    data:dict=None, # {'seg': DIR, 'cd': DIR} written into config.json
    models:bool=True, # Write CD models (model.pth) with `sadl.cd` (needs the module)
    seed:int=0, # Seed of the made-up numbers and weights
)->Path: # `out`
    "A runs folder in the `sadl_reproduce` layout with untrained weights and made-up metrics, for tests and docs."
    out = Path(out); g = np.random.default_rng(seed); rows = []
    (out/'pretrain').mkdir(parents=True, exist_ok=True)
    (out/'config.json').write_text(json.dumps({'preset': {'name': 'fake'}, 'data': {k: str(v) for k, v in (data or {}).items()}}))
    for k, init in enumerate(inits):
        if init in ('random', 'imagenet'): continue
        d = out/'pretrain'/init
        torch.manual_seed(seed + k); export_backbone(ResNetFPN(out_channels=8), d/'backbone.pth')
        pd.DataFrame(dict(epoch=range(epochs), loss=-np.linspace(.2, .8, epochs), l_sd=g.random(epochs), l_s1=g.random(epochs),
                          l_s2=g.random(epochs), collapse_std=g.random(epochs)/10, missing=0)).to_csv(d/'history.csv', index=False)
        (d/'config.json').write_text(json.dumps({'method': init, **method_switches(init)}))
    for k, init in enumerate(inits):
        first = None  # one untrained network per init, hard-linked into all its runs (45 MB each)
        for frac in fracs:
            for s in seeds:
                d = out/'finetune'/init/f'frac{frac:g}'/f'seed{s}'; d.mkdir(parents=True, exist_ok=True)
                base = .3 + .1*k + .3*frac
                h = pd.DataFrame(dict(epoch=range(epochs), train_loss=np.linspace(.6, .2, epochs), valid_loss=np.linspace(.7, .3, epochs),
                                      precision=base + g.random(epochs)/10, recall=base + g.random(epochs)/10))
                h['f1'] = 2*h.precision*h.recall/(h.precision + h.recall); h['iou'] = h.f1/(2 - h.f1)
                h.to_csv(d/'history.csv', index=False)
                best = int(h.f1.idxmax()); m = {**h.loc[best, list(METRICS)].to_dict(), 'best_epoch': best}
                (d/'metrics.json').write_text(json.dumps(m)); rows.append(dict(init=init, frac=frac, seed=s, **m))
                if models and first is None: first = d/'model.pth'; torch.save(_fake_cd_state(seed + k), first)
                elif models: _link(first, d/'model.pth')
    pd.DataFrame(rows).to_csv(out/'results.csv', index=False)
    return out

def killed_after_epoch(
    monkeypatch, # pytest's fixture: the patch is undone when the kill has happened
    run, # Called with no arguments: the run to kill (e.g. a `pretrain` call)
    epoch:int=0, # The epoch whose checkpoint is the last one written
):
    "Run `run()` as a job killed (KeyboardInterrupt) right after `Checkpoint` saved `epoch`, then restore `Checkpoint`."
    import pytest
    from sadl.train import Checkpoint
    orig = Checkpoint.after_epoch
    def killed(self):
        orig(self)
        if self.epoch == epoch: raise KeyboardInterrupt
    monkeypatch.setattr(Checkpoint, 'after_epoch', killed)
    with pytest.raises(KeyboardInterrupt): run()
    monkeypatch.setattr(Checkpoint, 'after_epoch', orig)
