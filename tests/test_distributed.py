"""Data-parallel pre-training on the CPU: 2 processes (torchrun, gloo) on tiny synthetic data.
Both ranks end with identical weights, only rank 0 writes files, each epoch is split between the
ranks without overlap, one DDP step equals one single-process step on the whole batch, and the
epoch loss is close to a 1-process run with the doubled batch (BatchNorm is per rank on CPUs);
fine-tuning (sadl.cd.finetune) runs the same way."""
import csv, json, os, socket, subprocess, sys
from pathlib import Path
import pytest, torch
from sadl.synth import make_synthetic
import sadl.learner as L

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_worker

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ddp')
    data = make_synthetic(tmp/'seg', 'seg', n=8, size=64, seed=1, progress=False, splits={'train': 1.0})
    cd = make_synthetic(tmp/'cd', 'cd', n=12, size=64, seed=2, progress=False, splits={'train': .5, 'val': .25, 'test': .25})
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
           '--master_port', str(_free_port()), str(HERE/'ddp_worker.py'), str(data), str(cd), str(tmp)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return data, tmp

def test_ranks_hold_identical_weights(ddp_run):
    _, tmp = ddp_run
    w0, w1 = (torch.load(tmp/f'weights{r}.pt', weights_only=True) for r in (0, 1))
    assert list(w0) == list(w1)
    for k in w0: assert torch.equal(w0[k], w1[k]), k

def test_resume_on_two_ranks(ddp_run):
    _, tmp = ddp_run
    rows = list(csv.DictReader(open(tmp/'run'/'history.csv')))
    assert [r['epoch'] for r in rows] == ['0', '1', '2']              # epochs 0-1 kept, epoch 2 trained
    assert torch.load(tmp/'run'/'checkpoint.pth', weights_only=False)['epoch'] == 2
    w0, w1 = (torch.load(tmp/f'resumed{r}.pt', weights_only=True) for r in (0, 1))
    for k in w0: assert torch.equal(w0[k], w1[k]), k
    bb = torch.load(tmp/'run'/'backbone.pth', weights_only=True)       # the exported backbone is those weights
    assert torch.equal(bb['conv1.weight'], w0['encoder.encoder.backbone.conv1.weight'])
    assert not torch.equal(w0['encoder.encoder.backbone.conv1.weight'],
                           torch.load(tmp/'weights0.pt', weights_only=True)['encoder.encoder.backbone.conv1.weight'])

def test_rank0_writes_once(ddp_run):
    _, tmp = ddp_run
    run = tmp/'run'
    assert sorted(p.name for p in run.iterdir()) == ['backbone.pth', 'backbone_start.pth', 'checkpoint.pth', 'config.json', 'history.csv']
    assert json.loads((run/'config.json').read_text())['world_size'] == 2
    ck = torch.load(run/'checkpoint.pth', weights_only=False)
    assert ck['world'] == 2 and len(ck['rng']) == 2                   # every rank's random states, for resume
    assert not torch.equal(ck['rng'][0]['gens']['sadl_views'][0], ck['rng'][1]['gens']['sadl_views'][0])  # per-rank views generators

def test_epoch_split_between_ranks(ddp_run):
    _, tmp = ddp_run
    s0, s1 = (json.loads((tmp/f'seen{r}.json').read_text()) for r in (0, 1))
    for ep in ('0', '1'):
        assert len(s0[ep]) == len(s1[ep]) == 4                        # 8 patches: 4 per rank, 2 batches of 2
        assert len(set(s0[ep]) | set(s1[ep])) == 8                     # together: the whole epoch, no repeats

def test_ddp_step_equals_single_process(ddp_run):
    _, tmp = ddp_run
    model, xb, yb = ddp_worker.step_batch()
    loss = ddp_worker.one_step(model, xb, yb)                        # one process, the whole batch of 4
    for r in (0, 1):
        st = torch.load(tmp/f'step{r}.pt', weights_only=True)
        torch.testing.assert_close(st['loss'], loss, rtol=1e-5, atol=1e-6)
        for k, v in model.state_dict().items(): torch.testing.assert_close(st['sd'][k], v, rtol=1e-4, atol=1e-6, msg=k)

def test_loss_close_to_one_process_double_batch(ddp_run, tmp_path):
    data, tmp = ddp_run
    L.pretrain(data, tmp_path/'one', epochs=2, bs=4, size=32, n_points=2, progress=False, device='cpu')
    one = [float(r['loss']) for r in csv.DictReader(open(tmp_path/'one'/'history.csv'))]
    two = [float(r['loss']) for r in csv.DictReader(open(tmp/'run'/'history.csv'))][:2]   # before the resumed epoch 2
    lr1 = [float(r['lr']) for r in csv.DictReader(open(tmp_path/'one'/'history.csv'))]
    lr2 = [float(r['lr']) for r in csv.DictReader(open(tmp/'run'/'history.csv'))][:2]
    assert lr1 == pytest.approx(lr2)                                  # same number of steps, same schedule
    # different random views per rank and per-rank BatchNorm statistics: close, not equal
    assert two == pytest.approx(one, rel=0.15), (one, two)

def test_finetune_two_ranks(ddp_run):
    _, tmp = ddp_run
    t0, t1 = (json.loads((tmp/f'ft{r}.json').read_text()) for r in (0, 1))
    assert t0 == t1                                                   # same model, whole test set on each rank
    h0, h1 = (list(csv.DictReader(open(tmp/f'fthist{r}.csv'))) for r in (0, 1))
    assert [r['valid_loss'] for r in h0] == [r['valid_loss'] for r in h1]   # identical models after every epoch
    assert len(h0) == 2
    ft = tmp/'ft'
    assert sorted(p.name for p in ft.iterdir()) == ['config.json', 'history.csv', 'metrics.json', 'model.pth']
    m = json.loads((ft/'metrics.json').read_text())
    assert m['f1'] == t0['f1'] and m['n_train'] == 6
