"""Wall time of the demo's phases (`sadl_reproduce --preset tiny`, what `make demo` runs), and the CPU that ran it.

    .venv/bin/python benchmarks/demo_phases.py --runs runs/tiny [--results benchmarks/RESULTS.md]   # a finished run
    .venv/bin/python benchmarks/demo_phases.py --run --out /tmp/demo [--results ...]                 # run the demo now

Reads the run folder's timers (`elapsed_s.txt` of the whole run, of each pre-training and of each
fine-tuning run; a run whose result predates this reproduction was reused from an earlier one, and is
counted apart, not timed) and prints: data + probes + tables (the rest), pre-training per method, fine-tuning
per initialisation (runs, median steps, seconds), the total, and the machine: CPU model, core count,
the flags that decide the speed (avx2, avx512f, avx512_bf16, amx_bf16), torch version and threads.
With --results it writes the table as the "Demo phases" section of that file (other sections kept).
Time it with nothing else running: two heavy jobs on 2 cores slow each other 5-10x.
"""
import argparse, json, os, platform, re, subprocess, sys, time
from pathlib import Path

SECTION = '## Demo phases'
FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')

def machine()->dict:
    "CPU model, logical cores, speed-relevant flags, torch version and threads, load average."
    info = {'cpu': platform.processor() or 'unknown', 'cores': os.cpu_count(), 'flags': []}
    try:
        txt = Path('/proc/cpuinfo').read_text()
        m = re.search(r'model name\s*:\s*(.+)', txt)
        if m: info['cpu'] = m.group(1).strip()
        have = set(re.search(r'flags\s*:\s*(.+)', txt).group(1).split())
        info['flags'] = [f for f in FLAGS if f in have]
    except (OSError, AttributeError): pass
    import torch
    info.update(torch=torch.__version__, threads=torch.get_num_threads(), load=os.getloadavg())
    isa = [f"{k}={os.environ[k]}" for k in ('ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA') if os.environ.get(k)]
    info['isa'] = ', '.join(isa) or 'default'
    return info

def _secs(f:Path)->float: return float(f.read_text()) if f.is_file() else float('nan')

def _wall(starts:list, ends:list)->float:
    "Wall seconds of a phase whose runs go 2 (or more) at a time: from the first run folder made to the last result written."
    ends = [f.stat().st_mtime for f in ends if f.is_file()]
    return max(ends) - min(f.stat().st_mtime for f in starts if f.is_file()) if ends else 0.

def _reused(result:Path, start:float)->bool:
    "Whether a run's result was written before this reproduction started: a finished run it found and reused, not timed here."
    return result.is_file() and result.stat().st_mtime < start - 1

def phases(runs:Path)->dict:
    "Seconds per phase of a finished `sadl_reproduce` folder; runs that an earlier reproduction left and this one reused are counted apart."
    runs = Path(runs)
    if not (runs/'elapsed_s.txt').is_file(): raise SystemExit(f"{runs}: no elapsed_s.txt (not a finished sadl_reproduce run)")
    total = _secs(runs/'elapsed_s.txt')
    start = (runs/'elapsed_s.txt').stat().st_mtime - total   # written last, `total` seconds after the reproduction began
    pre, folders, pre_reused = {}, [], 0                 # out/pretrain (seed 0) and out/pretrain_seed<s> (paired presets)
    for d in sorted(runs.glob('pretrain*')):
        seed = d.name.removeprefix('pretrain').removeprefix('_')
        for p in sorted(x for x in d.iterdir() if x.is_dir()):
            if _reused(p/'backbone.pth', start): pre_reused += 1; continue
            pre[p.name + (f' ({seed.replace("seed", "seed ")})' if seed else '')] = _secs(p/'elapsed_s.txt'); folders.append(p)
    pre_wall = _wall([p/'run_key.txt' for p in folders], [p/'backbone.pth' for p in folders])
    ft = {}
    found = sorted((runs/'finetune').glob('*/frac*/seed*/metrics.json'))
    ms = [m for m in found if not _reused(m, start)]
    ft_reused = len(found) - len(ms)
    ft_wall = _wall([m.parent/'run_key.txt' for m in ms], ms)
    for m in ms:
        init = m.parents[2].name
        meta = json.loads(m.read_text())
        d = ft.setdefault(init, {'runs': 0, 's': 0., 'steps': []})
        d['runs'] += 1; d['s'] += _secs(m.parent/'elapsed_s.txt'); d['steps'].append(meta.get('steps', float('nan')))
    return dict(total=total, pretrain=pre, pretrain_wall=pre_wall, pretrain_reused=pre_reused, finetune=ft, finetune_wall=ft_wall,
                finetune_reused=ft_reused, rest=total - pre_wall - ft_wall)

def table(ph:dict, mach:dict, cmd:str, section:str=SECTION)->str:
    "Markdown section."
    import statistics
    def _runs(n, reused): return (f"{n or 'none'} run here, {reused} reused from an earlier run (not timed)" if reused else f"all {n} runs")
    rows = [f"| pre-training, {_runs(len(ph['pretrain']), ph['pretrain_reused'])} (wall) | {ph['pretrain_wall']:.0f} |"]
    rows += [f"| &nbsp;&nbsp;`{k}` (run seconds) | ({v:.0f}) |" for k, v in ph['pretrain'].items()]
    rows += [f"| fine-tuning, {_runs(sum(d['runs'] for d in ph['finetune'].values()), ph['finetune_reused'])} (wall) | {ph['finetune_wall']:.0f} |"]
    rows += [f"| &nbsp;&nbsp;from `{k}`: {d['runs']} runs, median {statistics.median(d['steps']):.0f} steps (run seconds, summed over workers) | ({d['s']:.0f}) |"
             for k, d in ph['finetune'].items()]
    rows += [f"| data, probes, tables, figures | {ph['rest']:.0f} |", f"| **total** | **{ph['total']:.0f}** ({ph['total'] / 60:.1f} min) |"]
    return '\n'.join([section, '', f"Command: `{cmd}`.",
                      f"Machine: {mach['cpu']}, {mach['cores']} cores, flags {', '.join(mach['flags']) or 'none of ' + ', '.join(FLAGS)}, "
                      f"torch {mach['torch']} ({mach['threads']} threads, ATen ISA {mach['isa']}), load average at the end "
                      f"{' / '.join(f'{x:.1f}' for x in mach['load'])}.", '',
                      '| phase | wall s |', '| --- | ---: |', *rows, ''])

def write_section(results:Path, text:str, section:str=SECTION):
    "Replace (or append) `section` in `results`, keeping the other sections."
    old = results.read_text() if results.is_file() else '# Benchmark results\n'
    parts = re.split(r'(?m)^(?=## )', old)
    parts = [p for p in parts if p.splitlines()[0:1] != [section]]
    results.write_text(''.join(parts).rstrip('\n') + '\n\n' + text)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', help='a finished sadl_reproduce folder to read')
    ap.add_argument('--run', action='store_true', help='run the tiny preset now (into --out)')
    ap.add_argument('--out', default='runs/bench_tiny', help='folder for --run')
    ap.add_argument('--results', help='write the table into this Markdown file')
    ap.add_argument('--section', default=SECTION, help='the Markdown heading of that section')
    a = ap.parse_args()
    if a.run:
        t = time.time()
        subprocess.run([str(Path(sys.executable).parent/'sadl_reproduce'), '--preset', 'tiny', '--out', a.out, '--quiet'], check=True)
        print(f"wall {time.time() - t:.0f} s")
        runs, cmd = Path(a.out), f"sadl_reproduce --preset tiny --out {a.out} --quiet"
    elif a.runs: runs, cmd = Path(a.runs), f"make demo (read back with benchmarks/demo_phases.py --runs {a.runs})"
    else: raise SystemExit('pass --runs DIR (a finished run) or --run')
    text = table(phases(runs), machine(), cmd, a.section)
    print(text)
    if a.results: write_section(Path(a.results), text, a.section)

if __name__ == '__main__': main()
