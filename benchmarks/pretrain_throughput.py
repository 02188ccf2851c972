"""SaDL pre-training throughput: samples/s (a sample = one patch and its 3 views) on the device at hand,
ours side by side with the authors' configuration, in the same process on the same device.

For each configuration it splits a training step into data (next batch from the loader, on the
device), views+sampling (`SaDLViewsCallback.make_batch`: Alg. 1 views, Alg. 2 points, normalisation)
and forward/backward/SGD step, and reports samples/s, FLOPs per sample (`torch.utils.flop_counter`),
achieved TFLOP/s and its share of the device's bf16 dense peak, peak GPU memory and the views+sampling
share of the step. Configurations:

- `ours`: what `sadl_learner` runs: bf16 autocast + channels_last (+ torch.compile with --compile) on
  CUDA, fp32 (or --precision bf16) + channels_last on the CPU; data in host memory, or on the GPU
  with --on-device.
- `ours-maxbs` (CUDA, --max-bs): the same at the largest batch (doubling from --bs) that fits.
- `authors`: the authors' setting of the same network (ResNet-18 + FPN, projector, predictor):
  fp32, NCHW (contiguous) tensors, eager, same views and points. It is our modules configured as
  the authors' code runs them (`self_sup/ssl_trainer.py`: fp32, no channels_last, no compile), not
  their code.
- with --side-by-side on the CPU: ours fp32 and ours bf16 against the authors' fp32 at the same batch.

Then fastai's own `fit` end to end for `ours` (callbacks, metrics, the step without host syncs).

    python benchmarks/pretrain_throughput.py                                  # CUDA: bs 64, 256x256, 20 steps, max bs, authors
    python benchmarks/pretrain_throughput.py --on-device --compile --max-bs   # CUDA, all options
    python benchmarks/pretrain_throughput.py --bs 8 --steps 3 --side-by-side  # CPU: ours fp32/bf16 vs authors fp32
    python benchmarks/pretrain_throughput.py --preset tiny                    # smoke test (seconds)
"""
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path
import torch

PRESETS = {  # name: (bs, size, steps, warmup)
    'cuda': (64, 256, 20, 5),
    'cpu': (8, 256, 3, 1),
    'tiny': (2, 64, 2, 1),
}
# dense bf16 tensor-core peaks, TFLOP/s (vendor data sheets; no sparsity)
BF16_PEAK = {'H100 SXM': 989., 'H100 80GB HBM3': 989., 'H100 NVL': 835., 'H100 PCIe': 756., 'H100': 756., 'H200': 989., 'GH200': 989.,
             'A100': 312., 'L40S': 362., 'L4': 121., 'RTX 4090': 165., 'RTX 3090': 71., 'A10': 125.}

def bf16_peak(name:str)->float|None:
    "Dense bf16 peak (TFLOP/s) of a GPU named `name`; the longest matching key wins; None when unknown."
    hits = [k for k in BF16_PEAK if k.lower() in name.lower()]
    return BF16_PEAK[max(hits, key=len)] if hits else None

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _data(args, tmp:Path)->Path:
    if args.data: return Path(args.data)
    from sadl.synth import make_synthetic
    n = args.n_data or max(2 * args.bs, 8)
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

def _learner(dls, args, swap, precision, compile, channels_last):
    from sadl.learner import sadl_learner
    learn = sadl_learner(dls, pool=args.pool, sd=args.pool != 'global', swap=swap, size=args.size, precision=precision, compile=compile)
    if not channels_last:  # the authors' layout: NCHW model and views
        learn.model.to(memory_format=torch.contiguous_format); learn.sadl_views.channels_last = False
    return learn

def measure(args, dls, dev, swap, bs, precision, compile, channels_last, label, peak=None)->dict:
    "Per-phase timings of `args.steps` steps at batch `bs` after `args.warmup` warm-up steps."
    from sadl.data import PatchDL
    learn = _learner(dls, args, swap, precision, compile, channels_last)
    learn.create_opt(); learn.model.train()
    views = learn.sadl_views
    bf16 = precision == 'bf16' or (precision == 'auto' and dev.type == 'cuda')
    amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16)
    dl = PatchDL(dls.train_ds, bs=bs, shuffle=True, drop_last=True, device=dev)
    def batches():
        while True: yield from dl
    it = batches()
    t = {'data': 0., 'views': 0., 'step': 0.}
    if dev.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)
    flops = None
    for i in range(args.warmup + args.steps):
        _sync(dev); a = time.perf_counter()
        b = next(it); _sync(dev); bt = time.perf_counter()
        xb, yb = views.make_batch(*b); _sync(dev); c = time.perf_counter()
        with torch.autocast(**amp): loss = learn.loss_func(learn.model(*xb), *yb)
        loss.backward(); learn.opt.step(); learn.opt.zero_grad(); _sync(dev); d = time.perf_counter()
        if i >= args.warmup: t['data'] += bt - a; t['views'] += c - bt; t['step'] += d - c
        if i == 0 and not compile: flops = _flops(learn, xb, yb, amp)
    if flops is None:  # count on an eager twin (FlopCounterMode does not see inside compiled graphs)
        tw = _learner(dls, args, swap, precision, False, channels_last); tw.create_opt(); tw.model.train()
        flops = _flops(tw, *tw.sadl_views.make_batch(*next(it)), amp); del tw
    total = sum(t.values())
    res = dict(config=label, bs=bs, precision='bf16 autocast' if bf16 else 'fp32', channels_last=channels_last,
               compile=bool(learn.model.compiled), samples_per_s=args.steps * bs / total,
               **{f'{k}_ms_per_step': 1e3 * v / args.steps for k, v in t.items()},
               views_sampling_pct=100 * t['views'] / total, data_pct=100 * t['data'] / total,
               gflop_per_sample=flops / bs / 1e9, achieved_tflops=flops * args.steps / total / 1e12)
    res['bf16_peak_pct'] = 100 * res['achieved_tflops'] / peak if peak else None
    if dev.type == 'cuda': res['peak_mem_gib'] = torch.cuda.max_memory_allocated(dev) / 2**30
    del learn; return res

def max_batch(args, dls, dev, swap, precision, compile, start)->int:
    "Largest batch (doubling from `start`) whose training step fits in GPU memory."
    from sadl.data import PatchDL
    best, bs = None, start
    while bs <= len(dls.train_ds):
        try:
            learn = _learner(dls, args, swap, precision, compile, True); learn.create_opt(); learn.model.train()
            b = next(iter(PatchDL(dls.train_ds, bs=bs, device=dev)))
            amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=True)
            xb, yb = learn.sadl_views.make_batch(*b)
            with torch.autocast(**amp): loss = learn.loss_func(learn.model(*xb), *yb)
            loss.backward(); learn.opt.step(); _sync(dev); best = bs; bs *= 2
        except torch.cuda.OutOfMemoryError: break
        finally:
            learn = loss = xb = yb = b = None; torch.cuda.empty_cache()
    return best or start

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--preset', choices=PRESETS, default=None, help='bs/size/steps/warmup preset; default cuda or cpu by device')
    p.add_argument('--bs', type=int); p.add_argument('--size', type=int); p.add_argument('--steps', type=int); p.add_argument('--warmup', type=int)
    p.add_argument('--device', default=None, help='cpu, cuda, ...; default cuda if available')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    p.add_argument('--pool', default='sample'); p.add_argument('--swap', default='blend')
    p.add_argument('--precision', default='auto', choices=('auto', 'bf16', 'fp32'), help='ours: auto = bf16 autocast on CUDA, fp32 on CPU')
    p.add_argument('--compile', action='store_true', help='ours: torch.compile the encoder')
    p.add_argument('--on-device', action='store_true', help='ours: whole uint8 dataset on the GPU')
    p.add_argument('--max-bs', action='store_true', help='CUDA: also time ours at the largest batch that fits (doubling from --bs)')
    p.add_argument('--no-authors', action='store_true', help="skip the authors' configuration (fp32, NCHW, eager)")
    p.add_argument('--side-by-side', action='store_true', help='time ours in fp32 and in bf16 (CPU comparison with the authors at the same batch)')
    p.add_argument('--peak-tflops', type=float, default=None, help='bf16 dense peak of the device (default: looked up by GPU name)')
    p.add_argument('--data', default=None, help='seg folder; default synthetic tiles in a temp folder')
    p.add_argument('--n-data', type=int, default=None, help='synthetic patches (default 2 x bs, at least 8; more for --max-bs)')
    p.add_argument('--no-fit', action='store_true', help='skip the fastai end-to-end timing')
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
    from sadl.data import seg_dataloaders, PatchDL
    from sadl.learner import sadl_learner
    set_seed(0)
    tmp = Path(tempfile.mkdtemp())
    if args.n_data is None and args.max_bs and dev.type == 'cuda': args.n_data = 1024
    t0 = time.time(); root = _data(args, tmp); t_synth = time.time() - t0
    dls = seg_dataloaders(root, bs=args.bs, device=dev, on_device=args.on_device, progress=False)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)'
    peak = args.peak_tflops or (bf16_peak(name) if dev.type == 'cuda' else None)
    head = dict(device=name, torch=torch.__version__, threads=torch.get_num_threads(), size=args.size, steps=args.steps, warmup=args.warmup,
                pool=args.pool, swap=swap, on_device=args.on_device, bf16_peak_tflops=peak, load_avg=os.getloadavg()[0], synth_s=t_synth)
    rows = []
    if args.side_by_side:
        rows.append(measure(args, dls, dev, swap, args.bs, 'fp32', args.compile, True, 'ours fp32', peak))
        rows.append(measure(args, dls, dev, swap, args.bs, 'bf16', args.compile, True, 'ours bf16', peak))
    else: rows.append(measure(args, dls, dev, swap, args.bs, args.precision, args.compile, True, 'ours', peak))
    if args.max_bs and dev.type == 'cuda':
        mb = max_batch(args, dls, dev, swap, args.precision, args.compile, args.bs)
        if mb > args.bs: rows.append(measure(args, dls, dev, swap, mb, args.precision, args.compile, True, 'ours-maxbs', peak))
    if not args.no_authors: rows.append(measure(args, dls, dev, swap, args.bs, 'fp32', False, False, 'authors', peak))
    ref = next((r for r in rows if r['config'] == 'authors'), None)
    for r in rows: r['x_authors'] = r['samples_per_s'] / ref['samples_per_s'] if ref else None
    if not args.no_fit:  # fastai end to end: the learner's own loop, callbacks and all
        k = args.steps * args.bs
        ds = dls.train_ds.subset(range(min(k, len(dls.train_ds))))
        fdl = DataLoaders(PatchDL(ds, bs=args.bs, shuffle=True, drop_last=True, device=dev), PatchDL(ds, bs=args.bs, device=dev), device=dev)
        fl = sadl_learner(fdl, pool=args.pool, sd=args.pool != 'global', swap=swap, size=args.size, precision=args.precision, compile=args.compile)
        with fl.no_bar(), fl.no_logging(): fl.fit(1)  # warm-up (cudnn autotune, allocator, compile)
        _sync(dev); a = time.perf_counter()
        with fl.no_bar(), fl.no_logging(): fl.fit(1)
        _sync(dev); head['fit_samples_per_s'] = len(fdl.train) * args.bs / (time.perf_counter() - a)
    head['cmd'] = 'python benchmarks/pretrain_throughput.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    for k, v in head.items(): print(f'{k:>20}: {v:.4g}' if isinstance(v, float) else f'{k:>20}: {v}')
    cols = ['config', 'bs', 'precision', 'compile', 'samples_per_s', 'x_authors', 'achieved_tflops', 'bf16_peak_pct', 'views_sampling_pct',
            'data_pct', 'gflop_per_sample', 'peak_mem_gib']
    print('| ' + ' | '.join(cols) + ' |'); print('|' + ' --- |' * len(cols))
    for r in rows:
        print('| ' + ' | '.join(f'{r.get(c):.3g}' if isinstance(r.get(c), float) else str(r.get(c, '-')) for c in cols) + ' |')
    res = dict(head, rows=rows)
    if args.json: Path(args.json).write_text(json.dumps(res, indent=1))
    return res

if __name__ == '__main__': main()
