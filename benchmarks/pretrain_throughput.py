"""SaDL pre-training throughput: samples/s (a sample = its 3 views) on the device at hand.

Splits a training step into data (next batch from the loader, on the device), views+sampling
(`SaDLViewsCallback.make_batch`: Alg. 1 views, Alg. 2 points, normalisation) and forward/backward
(three encoder passes, the loss, backward and the SGD step), then times fastai's own `fit` end to
end. On CUDA it also reports achieved TFLOP/s (FLOPs counted by `torch.utils.flop_counter`) and
peak memory; the model runs in bf16 autocast and channels_last there, in fp32 on the CPU.

    python benchmarks/pretrain_throughput.py                      # CUDA: bs 64, 256x256, 20 steps
    python benchmarks/pretrain_throughput.py --bs 8 --steps 3     # CPU default (a few minutes on 2 cores)
    python benchmarks/pretrain_throughput.py --preset tiny        # smoke test (seconds)
    python benchmarks/pretrain_throughput.py --precision bf16     # CPU with AMX: bf16 autocast (opt-in)
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path
import torch

PRESETS = {  # name: (bs, size, steps, warmup)
    'cuda': (64, 256, 20, 5),
    'cpu': (8, 256, 3, 1),
    'tiny': (2, 64, 2, 1),
}

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _data(args, tmp:Path)->Path:
    if args.data: return Path(args.data)
    from sadl.synth import make_synthetic
    n = max(2 * args.bs, 8)
    return make_synthetic(tmp/'seg', 'seg', n=n, size=args.size, seed=0, progress=False, splits={'train': 1.0})

def _flops(learn, xb, yb, amp)->float:
    "FLOPs of one forward+backward (matmuls and convolutions), counted once."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        with torch.autocast(**amp):
            loss = learn.loss_func(learn.model(*xb), *yb)
        loss.backward()
    learn.opt.zero_grad()
    return float(fc.get_total_flops())

def _ceiling(args, dev, amp, reps=3)->float:
    "Samples/s of a plain torchvision ResNet-18 forward+backward on 3 x bs images: an upper bound on this machine now."
    import torchvision
    m = torchvision.models.resnet18().to(dev).to(memory_format=torch.channels_last)
    x = torch.randn(3 * args.bs, 3, args.size, args.size, device=dev).contiguous(memory_format=torch.channels_last)
    ts = []
    for i in range(reps + 1):
        _sync(dev); a = time.perf_counter()
        with torch.autocast(**amp): y = m(x).float().sum()
        y.backward(); _sync(dev); ts.append(time.perf_counter() - a)
    return args.bs / min(ts[1:])

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--preset', choices=PRESETS, default=None, help='bs/size/steps/warmup preset; default cuda or cpu by device')
    p.add_argument('--bs', type=int); p.add_argument('--size', type=int); p.add_argument('--steps', type=int); p.add_argument('--warmup', type=int)
    p.add_argument('--device', default=None, help='cpu, cuda, ...; default cuda if available')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    p.add_argument('--pool', default='sample'); p.add_argument('--swap', default='blend')
    p.add_argument('--precision', default='auto', choices=('auto', 'bf16', 'fp32'), help='auto: bf16 autocast on CUDA, fp32 on CPU')
    p.add_argument('--data', default=None, help='seg folder; default synthetic tiles in a temp folder')
    p.add_argument('--no-fit', action='store_true', help='skip the fastai end-to-end timing')
    p.add_argument('--no-ceiling', action='store_true', help='skip timing a bare torchvision ResNet-18 on the same 3 x bs views')
    p.add_argument('--json', default=None, help='write the results to this file')
    args = p.parse_args(argv)
    dev = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    bs, size, steps, warmup = PRESETS[args.preset or ('cuda' if dev.type == 'cuda' else 'cpu')]
    args.bs, args.size = args.bs or bs, args.size or size
    args.steps, args.warmup = args.steps or steps, args.warmup if args.warmup is not None else warmup
    if args.threads: torch.set_num_threads(args.threads)
    swap = None if args.swap in ('none', 'None') else args.swap
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True

    from fastai.data.core import DataLoaders
    from fastai.torch_core import set_seed
    from sadl.data import seg_dataloaders
    from sadl.learner import sadl_learner
    set_seed(0)
    tmp = Path(tempfile.mkdtemp())
    t0 = time.time(); root = _data(args, tmp); t_synth = time.time() - t0
    dls = seg_dataloaders(root, bs=args.bs, device=dev)
    bf16 = args.precision == 'bf16' or (args.precision == 'auto' and dev.type == 'cuda')
    learn = sadl_learner(dls, pool=args.pool, sd=args.pool != 'global', swap=swap, size=args.size, precision=args.precision)
    learn.create_opt()
    learn.model.train()
    views = learn.sadl_views
    amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16)

    def batches():
        while True: yield from dls.train
    it = batches()
    t = {'data': 0., 'views': 0., 'step': 0.}
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    flops = None
    for i in range(args.warmup + args.steps):
        _sync(dev); a = time.perf_counter()
        b = next(it); _sync(dev); bt = time.perf_counter()
        xb, yb = views.make_batch(*b); _sync(dev); c = time.perf_counter()
        with torch.autocast(**amp): loss = learn.loss_func(learn.model(*xb), *yb)
        loss.backward(); learn.opt.step(); learn.opt.zero_grad(); _sync(dev); d = time.perf_counter()
        if i >= args.warmup:
            t['data'] += bt - a; t['views'] += c - bt; t['step'] += d - c
        if i == 0: flops = _flops(learn, xb, yb, amp)
    n = args.steps * args.bs
    total = sum(t.values())
    res = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)',
               torch=torch.__version__, threads=torch.get_num_threads(), bs=args.bs, size=args.size, steps=args.steps,
               pool=args.pool, swap=swap, precision='bf16 autocast' if bf16 else 'fp32',
               samples_per_s=n / total, **{f'{k}_s_per_step': v / args.steps for k, v in t.items()},
               **{f'{k}_pct': 100 * v / total for k, v in t.items()},
               gflop_per_sample=flops / args.bs / 1e9, achieved_tflops_step=flops * args.steps / t['step'] / 1e12,
               load_avg=os.getloadavg()[0], synth_s=t_synth)
    if dev.type == 'cuda': res['peak_mem_gib'] = torch.cuda.max_memory_allocated(dev) / 2**30
    if not args.no_fit:  # fastai end to end: the learner's own loop, callbacks and all
        from sadl.data import PatchDL
        k = args.steps * args.bs
        ds = dls.train_ds.subset(range(min(k, len(dls.train_ds))))
        fdl = DataLoaders(PatchDL(ds, bs=args.bs, shuffle=True, drop_last=True, device=dev), PatchDL(ds, bs=args.bs, device=dev), device=dev)
        fl = sadl_learner(fdl, pool=args.pool, sd=args.pool != 'global', swap=swap, size=args.size, precision=args.precision)
        with fl.no_bar(), fl.no_logging(): fl.fit(1)  # warm-up (cudnn autotune, allocator)
        _sync(dev); a = time.perf_counter()
        with fl.no_bar(), fl.no_logging(): fl.fit(1)
        _sync(dev); res['fit_samples_per_s'] = len(fdl.train) * args.bs / (time.perf_counter() - a)
    if not args.no_ceiling:  # the machine's speed right now: a bare ResNet-18 (no FPN, heads, views) on 3 x bs images
        res['resnet18_ceiling_samples_per_s'] = _ceiling(args, dev, amp)
    res['cmd'] = 'python benchmarks/pretrain_throughput.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    for k, v in res.items(): print(f'{k:>22}: {v:.4g}' if isinstance(v, float) else f'{k:>22}: {v}')
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))
    return res

if __name__ == '__main__': main()
