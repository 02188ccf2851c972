"""A long command killed with `kill -9` mid-run: the rerun completes with the same result and leaves no stray file (issue 20)."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest
from conftest import REPO

def _start(d:Path, prog, *args):
    "Start a console script as pip installs it (a file in `d` whose `__main__` calls it), in the background."
    f = d/f'{prog}.py'
    f.write_text(f"import sys\nfrom sadl.cli import {prog}\nif __name__ == '__main__': sys.exit({prog}())\n")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
    return subprocess.Popen([sys.executable, str(f), *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def _kill_when(p, ready, timeout=120):
    "kill -9 `p` as soon as `ready()` holds; fail if it ended first."
    t0 = time.time()
    while not ready():
        assert p.poll() is None, f"finished before the kill: {p.communicate()}"
        assert time.time() - t0 < timeout, 'never got ready'
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL); p.wait()

def _files(d:Path)->dict:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob('*')) if f.is_file()}

def test_kill_tile(tmp_path, tmp_path_factory, console):
    from sadl.tiling import save_cd_sample
    g = np.random.default_rng(0)
    for k in range(3): save_cd_sample(tmp_path/'src', f's{k}', *g.integers(0, 256, (2, 640, 952, 3), dtype=np.uint8),
                                      (g.random((640, 952)) > .99).astype(np.uint8))
    args = ('--size', '64', '--quiet')
    assert console('sadl_tile', tmp_path/'src', tmp_path/'ref', *args).returncode == 0
    p = _start(tmp_path_factory.mktemp('bin'), 'sadl_tile', tmp_path/'src', tmp_path/'out', *args)
    stage = lambda: [d for d in tmp_path.iterdir() if d.name.startswith('.out.tiling.')]
    _kill_when(p, lambda: any(len(list((d/'A').glob('*'))) > 20 for d in stage() if (d/'A').is_dir()))
    assert not (tmp_path/'out').exists() and stage()                     # killed: nothing in out, a staging folder left
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', *args)
    assert r.returncode == 0, r.stderr
    assert _files(tmp_path/'out') == _files(tmp_path/'ref')                  # the same patches, lists and tiling.json
    assert sorted(d.name for d in tmp_path.iterdir()) == ['out', 'ref', 'src']   # the killed run's staging folder is gone

def test_kill_pretrain(tmp_path, tmp_path_factory, console):
    import torch
    assert console('sadl_synth', '--kind', 'seg', '--n', '16', '--size', '64', '--out', tmp_path/'seg').returncode == 0
    args = ('--epochs', '3', '--bs', '4', '--size', '32', '--n_points', '2', '--width', '8', '--channels', '8', '--proj_dim', '16',
            '--device', 'cpu')
    r = console('sadl_pretrain', '--data', tmp_path/'seg', '--out', tmp_path/'ref', *args)
    assert r.returncode == 0, r.stderr
    out = tmp_path/'run'
    p = _start(tmp_path_factory.mktemp('bin'), 'sadl_pretrain', '--data', tmp_path/'seg', '--out', out, *args)
    _kill_when(p, lambda: (out/'checkpoint.pth').is_file())                  # killed during the second epoch
    assert not (out/'backbone.pth').exists()
    r = console('sadl_pretrain', '--data', tmp_path/'seg', '--out', out, *args, '--resume')
    assert r.returncode == 0, r.stderr
    a, b = (torch.load(d/'backbone.pth', weights_only=True) for d in (tmp_path/'ref', out))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)   # resumed = uninterrupted, bit for bit
    assert sorted(f.name for f in out.iterdir()) == sorted(f.name for f in (tmp_path/'ref').iterdir())   # no stray .tmp

def test_kill_finetune(tmp_path, tmp_path_factory, console, monkeypatch):
    "sadl_finetune killed mid-run and rerun with --resume: the history.csv and test metrics of the uninterrupted run, no stray file."
    import pandas as pd, torch
    from sadl.core import METRICS
    from sadl.synth import make_synthetic
    (tmp_path/'tmp').mkdir()
    monkeypatch.setenv('TMPDIR', str(tmp_path/'tmp'))                        # a temporary file outside --out would land here
    make_synthetic(tmp_path/'cd', kind='cd', n=16, size=64, seed=0, progress=False)
    args = ('--data', tmp_path/'cd', '--epochs', '8', '--bs', '2', '--epoch_size', '6', '--width', '8', '--channels', '8', '--seed', '1',
            '--device', 'cpu', '--quiet')
    ref = console('sadl_finetune', *args, '--out', tmp_path/'ref')
    assert ref.returncode == 0, ref.stderr
    out = tmp_path/'run'
    p = _start(tmp_path_factory.mktemp('bin'), 'sadl_finetune', *args, '--out', out)
    _kill_when(p, lambda: (out/'checkpoint.pth').is_file())                  # killed during the second epoch (or a later one)
    assert not (out/'metrics.json').exists()
    r = console('sadl_finetune', *args, '--out', out)                        # neither --resume nor --restart: refused
    assert r.returncode == 2 and '--resume to continue that run' in r.stderr.strip().splitlines()[-1], r.stderr
    r = console('sadl_finetune', *args, '--out', out, '--resume', '--lr', '0.02')   # another option: one line naming --restart
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and 'Traceback' not in r.stderr and last.startswith('sadl_finetune: error: ') and 'lr: 0.01 -> 0.02' in last, r.stderr
    assert '--restart' in last and 'another --out' in last
    ck = torch.load(out/'checkpoint.pth', weights_only=False)                # a mark in epoch 0's train_loss: a rerun that trained
    ck['recorder']['values'][0][0] = 9.5                                     # from scratch instead of resuming would not show it
    torch.save(ck, out/'checkpoint.pth')
    r = console('sadl_finetune', *args, '--out', out, '--resume')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == ref.stdout.splitlines()[-1]              # the printed test metrics
    h, h_ref = (pd.read_csv(d/'history.csv') for d in (out, tmp_path/'ref'))
    assert h.train_loss[0] == 9.5                                            # resumed after epoch ck['epoch'], not retrained
    h.loc[0, 'train_loss'] = h_ref.train_loss[0]
    pd.testing.assert_frame_equal(h, h_ref, check_exact=True)                # every other number as in the uninterrupted run
    a, b = (json.loads((d/'metrics.json').read_text()) for d in (tmp_path/'ref', out))
    keys = (*METRICS, 'ap', 'threshold', 'test_loss', 'best_epoch', 'epochs_run', 'valid', 'n_train')
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    wa, wb = (torch.load(d/'model.pth', weights_only=True)['model'] for d in (tmp_path/'ref', out))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)   # resumed = uninterrupted, bit for bit
    assert sorted(f.name for f in out.iterdir()) == sorted(f.name for f in (tmp_path/'ref').iterdir()) == \
        ['config.json', 'history.csv', 'metrics.json', 'model.pth']            # no checkpoint, .best/ or .tmp left
    assert sorted(d.name for d in tmp_path.iterdir()) == ['cd', 'ref', 'run', 'tmp']
    assert not [f for f in (tmp_path/'tmp').rglob('*') if f.is_file()]      # (torch makes an empty cache folder there)
