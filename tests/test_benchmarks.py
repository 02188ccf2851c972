"The benchmark scripts' own logic (their timings are measured by running them, never in tests)."
import importlib.util, json, os, time
from pathlib import Path

def _load(name):   # a script of benchmarks/ as a module
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1]/'benchmarks'/f'{name}.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def _run(folder:Path, files:dict, when:float):   # a run folder whose files were written at `when`
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder/name).write_text(text); os.utime(folder/name, (when, when))

def test_demo_phases_counts_reused_runs_apart(tmp_path):
    "A run that an earlier reproduction finished, and this one found and reused, is not timed as part of this one."
    dp, now = _load('demo_phases'), time.time()
    _run(tmp_path/'pretrain'/'sadl', {'run_key.txt': 'k', 'elapsed_s.txt': '180', 'backbone.pth': ''}, now - 10_000)   # reused
    _run(tmp_path/'pretrain_seed1'/'sadl', {'run_key.txt': 'k'}, now - 290)                                             # run here
    _run(tmp_path/'pretrain_seed1'/'sadl', {'elapsed_s.txt': '190', 'backbone.pth': ''}, now - 100)
    for seed, (t0, t1) in enumerate([(now - 95, now - 40), (now - 90, now - 30)]):                                    # two at a time
        _run(tmp_path/'finetune'/'random'/'frac1'/f'seed{seed}', {'run_key.txt': 'k'}, t0)
        _run(tmp_path/'finetune'/'random'/'frac1'/f'seed{seed}', {'elapsed_s.txt': '60', 'metrics.json': json.dumps({'steps': 320})}, t1)
    _run(tmp_path, {'elapsed_s.txt': '300'}, now)                  # the whole reproduction: 300 s, ending now
    ph = dp.phases(tmp_path)
    assert (ph['pretrain'], ph['pretrain_reused']) == ({'sadl (seed 1)': 190.}, 1)
    assert abs(ph['pretrain_wall'] - 190) < 1e-3 and abs(ph['finetune_wall'] - 65) < 1e-3 and ph['finetune_reused'] == 0
    assert abs(ph['rest'] - 45) < 1e-3                             # 300 - 190 - 65: data, probes, reports
    assert ph['finetune'] == {'random': {'runs': 2, 's': 120., 'steps': [320, 320]}}
    text = dp.table(ph, dict(cpu='x', cores=2, flags=['avx2'], torch='t', threads=1, isa='default', load=(0., 0., 0.)), 'cmd')
    assert '| pre-training, 1 run here, 1 reused from an earlier run (not timed) (wall) | 190 |' in text
    assert '| fine-tuning, all 2 runs (wall) | 65 |' in text
