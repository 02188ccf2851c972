"""Milliseconds per fine-tuning step of the CD network: one encoder pass per date (the authors) against one joint pass.

    .venv/bin/python benchmarks/cd_step.py [--width 16] [--size 64] [--bs 8] [--threads 1] [--steps 40]

The tiny preset's setting by default (width 16, 64 px, batch 8, one thread per run): forward, cross-entropy,
backward and an SGD step on random inputs, the median over `--steps` steps after 5 warm-up steps, alternating
the two variants so that a busy machine slows both alike. Prints the machine (`demo_phases.machine`).
Time it with nothing else running.
"""
import argparse, statistics, sys, time
from pathlib import Path
import torch, torch.nn.functional as F

def step_ms(joint:bool, width:int, size:int, bs:int, steps:int)->float:
    "Median milliseconds of one training step."
    from sadl.cd import CDNet
    torch.manual_seed(0)
    net = CDNet(32, width=width, joint=joint).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    a, b = torch.randn(bs, 3, size, size), torch.randn(bs, 3, size, size)
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
    res = {k: [] for k in ('per date', 'joint')}
    for _ in range(3):                                   # alternate: a transient load hits both variants
        for k in res: res[k].append(step_ms(k == 'joint', a.width, a.size, a.bs, a.steps))
    m = machine()
    print(f"{m['cpu']}, {m['cores']} cores, flags {', '.join(m['flags'])}, torch {m['torch']}, ISA {m['isa']}; "
          f"width {a.width}, {a.size} px, batch {a.bs}, {a.threads} thread(s)")
    sep, joint = (statistics.median(v) for v in res.values())
    print(f"| encoder passes | ms per step |\n| --- | ---: |\n| one per date (authors) | {sep:.1f} |\n| one joint pass | {joint:.1f} ({100 * (1 - joint / sep):.0f}% less) |")

if __name__ == '__main__': main()
