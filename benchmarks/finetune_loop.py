"""Milliseconds per step of a whole fine-tuning run (`sadl.cd.finetune`: fastai's loop, augmentation, validation, checkpoints), with sadl's loss and optimiser or fastai's.

    .venv/bin/python benchmarks/finetune_loop.py [--epochs 10] [--rounds 3] [--threads 1] [--data DIR]

`cd_step.py` times the bare step (forward, loss, backward, SGD on fixed tensors); this times what a run of the
`tiny` preset pays per step: random init at 100% of the labels, seed 0, `--epochs` epochs of 32 steps without the
early stop, validation after each. Two variants alternate (`--rounds` times, so that a busy machine slows both alike):
  sadl:   `sadl.train.PixelCrossEntropy` and `sadl.train.sadl_opt` (torch's SGD, foreach), what `sadl.cd.cd_learner` uses;
  fastai: fastai's `CrossEntropyLossFlat(axis=1)` and fastai's `SGD` (what it used before 4 Dec 2026).
Both give the same weights: the script prints every run's test AP, one value when they agree. Data: `--data`, a CD folder (`A/ B/ label/ list/`),
default 1,280 synthetic 64 px pairs of the tiny preset's CD world (made in a temporary folder, about 20 s).
Prints the machine (`demo_phases.machine`). Time it with nothing else running.
"""
import argparse, shutil, statistics, sys, tempfile, time
from pathlib import Path

def run_ms(data:Path, out:Path, epochs:int, variant:str)->tuple:
    "(ms per step, test AP) of one run."
    import sadl.cd as cd
    from sadl.reproduce import PRESETS
    from sadl.train import sadl_opt, PixelCrossEntropy
    if variant == 'fastai':
        from fastai.losses import CrossEntropyLossFlat
        from fastai.optimizer import SGD
        cd.PixelCrossEntropy = lambda: CrossEntropyLossFlat(axis=1)
        cd.sadl_opt = lambda params, lr=0.01, mom=0.9, wd=5e-4: SGD(params, lr=lr, mom=mom, wd=wd, decouple_wd=False)
    try:
        ft = {**PRESETS['tiny'].finetune, 'epochs': epochs, 'patience': None, 'min_epochs': 0}
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        res = cd.finetune(data, out, init='random', frac=1.0, seed=0, progress=False, resume=False, **ft)
        return 1000 * (time.perf_counter() - t) / (epochs * ft['epoch_size'] // ft['bs']), res['ap']
    finally: cd.PixelCrossEntropy, cd.sadl_opt = PixelCrossEntropy, sadl_opt

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--data', default=None)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    from demo_phases import machine
    tmp = Path(tempfile.mkdtemp(prefix='sadl_ftloop_'))
    try:
        data = Path(a.data) if a.data else None
        if data is None:
            from sadl.synth import make_synthetic
            from sadl.reproduce import PRESETS
            cd = PRESETS['tiny'].cd
            data = make_synthetic(tmp/'cd', 'cd', n=cd['synth'], size=cd['size'], seed=cd['seed'], progress=False)
        res = {'sadl': [], 'fastai': []}
        for _ in range(a.rounds):
            for v in res: res[v].append(run_ms(data, tmp/f'run_{v}', a.epochs, v))
        aps = {round(x[1], 6) for v in res.values() for x in v}
        m = machine()
        print(f"{m['cpu']}, {m['cores']} cores, flags {', '.join(m['flags'])}, torch {m['torch']}, ISA {m['isa']}; "
              f"{a.threads} thread(s), {a.epochs} epochs x 32 steps, {a.rounds} rounds; test AP of every run: {sorted(aps)}")
        print("| loss and optimiser | ms per step (median) | runs |\n| --- | ---: | --- |")
        for v, xs in res.items():
            print(f"| {v} | {statistics.median(x[0] for x in xs):.1f} | {', '.join(f'{x[0]:.1f}' for x in xs)} |")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
