"""Milliseconds per fine-tuning step of the CD network, and per validated pair: encoder passes, memory format, batch.

    .venv/bin/python benchmarks/cd_step.py [--width 16] [--size 64] [--bs 8] [--threads 1] [--steps 40]

The tiny preset's setting by default (width 16, 64 px, batch 8, one thread per run). Training: forward,
cross-entropy, backward and an SGD step on random inputs, the median over `--steps` steps after 5 warm-up steps,
for one encoder pass per date (the authors), one joint pass, and one joint pass in channels_last (what
`sadl.cd.cd_learner` runs). Validation: milliseconds per pair in eval mode at batch `bs` and 4 x `bs` (what
`sadl.data.cd_dataloaders` uses), channels_last. The variants alternate, three rounds, so that a busy machine
slows them alike. Prints the machine (`demo_phases.machine`). Time it with nothing else running; set
`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` to time AVX2 kernels on an AVX-512 CPU.
"""
import argparse, statistics, sys, time
from pathlib import Path
import torch, torch.nn.functional as F

CL = torch.channels_last

def _net(joint:bool, width:int, cl:bool):
    from sadl.cd import CDNet
    torch.manual_seed(0)
    net = CDNet(32, width=width, joint=joint)
    return net.to(memory_format=CL) if cl else net

def step_ms(joint:bool, cl:bool, width:int, size:int, bs:int, steps:int)->float:
    "Median milliseconds of one training step."
    net = _net(joint, width, cl).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    a, b = torch.randn(bs, 3, size, size), torch.randn(bs, 3, size, size)
    if cl: a, b = a.contiguous(memory_format=CL), b.contiguous(memory_format=CL)
    y = (torch.rand(bs, size, size) < 0.05).long()
    ts = []
    for i in range(steps + 5):
        t = time.perf_counter()
        loss = F.cross_entropy(net(a, b), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 5: ts.append(1000 * (time.perf_counter() - t))
    return statistics.median(ts)

def eval_ms(bs:int, width:int, size:int, pairs:int=128)->float:
    "Milliseconds per pair of a no-grad pass over `pairs` pairs in batches of `bs` (channels_last, joint)."
    net = _net(True, width, True).eval()
    a, b = (torch.randn(pairs, 3, size, size).contiguous(memory_format=CL) for _ in range(2))
    with torch.no_grad():
        net(a[:bs], b[:bs])                                                  # warm-up
        t = time.perf_counter()
        for i in range(0, pairs, bs): net(a[i:i + bs], b[i:i + bs])
    return 1000 * (time.perf_counter() - t) / pairs

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--bs', type=int, default=8)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--steps', type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    from demo_phases import machine
    train = {'one per date (authors)': (False, False), 'one joint pass': (True, False), 'one joint pass, channels_last (sadl)': (True, True)}
    res, ev = {k: [] for k in train}, {b: [] for b in (a.bs, 4 * a.bs)}
    for _ in range(3):                                   # alternate: a transient load hits every variant
        for k, (joint, cl) in train.items(): res[k].append(step_ms(joint, cl, a.width, a.size, a.bs, a.steps))
        for b in ev: ev[b].append(eval_ms(b, a.width, a.size))
    m = machine()
    print(f"{m['cpu']}, {m['cores']} cores, flags {', '.join(m['flags'])}, torch {m['torch']}, ISA {m['isa']}; "
          f"width {a.width}, {a.size} px, batch {a.bs}, {a.threads} thread(s)")
    first = statistics.median(next(iter(res.values())))
    print("| training step | ms |\n| --- | ---: |")
    for k, v in res.items():
        ms = statistics.median(v)
        print(f"| {k} | {ms:.1f}{'' if ms == first else f' ({100 * (1 - ms / first):.0f}% less)'} |")
    print("\n| validation batch | ms per pair |\n| --- | ---: |")
    for b, v in ev.items(): print(f"| {b} | {statistics.median(v):.2f} |")

if __name__ == '__main__': main()
