"""Tests of sadl.cd: Eq. 14 metrics, initialisation, fine-tuning and the CLIs (sliding-window prediction: test_predict.py)."""
import json, os
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from torchvision.models import resnet18
from sadl.cd import (METRICS, CDNet, ChangeMetric, cd_metrics, change_metrics, confusion, finetune, init_cd,
                     load_cd_model, plot_change_map)
from sadl.data import normalize
from sadl.tiling import SadlDataError, read_image, read_mask

torch.set_num_threads(1)

# --- metrics (Eq. 14) against hand-counted confusion matrices ---

@pytest.mark.parametrize('counts,expected', [
    ((3, 1, 2, 10), (3/4, 3/5, 2/3, 1/2)),
    ((10, 0, 10, 0), (1., 1/2, 2/3, 1/2)),
    ((7, 0, 0, 3), (1., 1., 1., 1.)),
    ((0, 0, 0, 100), (0., 0., 0., 0.)),   # split without change, nothing predicted
    ((0, 4, 0, 96), (0., 0., 0., 0.)),    # split without change, false alarms
    ((0, 0, 5, 95), (0., 0., 0., 0.)),    # change, nothing predicted
])
def test_change_metrics_hand_counted(counts, expected):
    m = change_metrics(*counts)
    assert list(m) == list(METRICS)
    assert all(not np.isnan(v) for v in m.values())
    np.testing.assert_allclose([m[k] for k in METRICS], expected)

def test_change_metrics_rejects_negative():
    with pytest.raises(ValueError, match='>= 0'): change_metrics(1, -2, 0)

def test_confusion_hand_counted():
    pred = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 1]])
    tgt = torch.tensor([[1, 0, 1, 0], [1, 0, 0, 0]], dtype=torch.uint8)
    assert confusion(pred, tgt) == (2, 2, 1, 3)
    assert confusion(torch.zeros(5, 5), torch.zeros(5, 5)) == (0, 0, 0, 25)
    with pytest.raises(ValueError, match='differs'): confusion(pred, tgt[0])

class _Learn:
    def __init__(self, pred, y): self.pred, self.yb = torch.stack([1 - pred, pred], 1).float(), (y,)

def test_metric_accumulates_over_split():
    "Counts are summed over the split (not averaged per image); reset clears them; an all-empty split gives 0."
    mets = cd_metrics()
    assert [m.name for m in mets] == [*METRICS, 'ap']
    mets = mets[:4]
    for m in mets: m.reset()
    batches = [(torch.tensor([[[1, 1], [0, 0]]]), torch.tensor([[[1, 0], [1, 0]]])),   # tp1 fp1 fn1
               (torch.tensor([[[1, 1], [1, 1]]]), torch.tensor([[[1, 1], [1, 1]]])),   # tp4
               (torch.tensor([[[0, 0], [0, 0]]]), torch.tensor([[[0, 0], [0, 0]]]))]   # tn4
    for p, y in batches:
        for m in mets: m.accumulate(_Learn(p, y))
    np.testing.assert_allclose([m.value for m in mets], [change_metrics(5, 1, 1)[k] for k in METRICS])
    for m in mets: m.reset()
    for m in mets: m.accumulate(_Learn(*batches[2]))
    assert [m.value for m in mets] == [0.] * 4
    with pytest.raises(ValueError, match='use one of'): ChangeMetric('accuracy')

# --- initialisation ---

def test_init_from_file_loads_only_backbone(tmp_path):
    ref = resnet18(weights=None)
    torch.nn.init.constant_(ref.layer1[0].conv1.weight, 0.5)     # a recognisable value
    torch.save(ref.state_dict(), tmp_path/'r18.pth')
    net = init_cd(CDNet(), tmp_path/'r18.pth')
    sd, own = ref.state_dict(), net.encoder.backbone.state_dict()
    assert all(torch.equal(own[k], sd[k]) for k in own)
    # everything else is N(0, 0.02) (not from the file, not torch's default init)
    for w in (net.head[0].weight, net.head[3].weight, net.encoder.lateral[0].weight, net.encoder.lateral[3].weight):
        assert abs(w.std().item() - 0.02) < 0.006 and abs(w.mean().item()) < 0.006
    assert net.head[3].bias.abs().sum() == 0
    assert abs(net.head[1].weight.mean().item() - 1) < 0.02

def test_random_init_everything_normal():
    net = init_cd(CDNet(), 'random', generator=torch.Generator().manual_seed(0))
    for w in (net.encoder.backbone.conv1.weight, net.encoder.backbone.layer4[1].conv2.weight, net.head[0].weight):
        assert abs(w.std().item() - 0.02) < 0.003
    bn = net.encoder.backbone.layer2[0].bn1
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().sum() == 0

@pytest.fixture(scope='module')
def small_net():
    torch.manual_seed(0)
    return CDNet(channels=8).eval()

@pytest.fixture(scope='module')
def model_file(small_net, tmp_path_factory):
    "A (untrained) CD model file as `finetune` writes it."
    p = tmp_path_factory.mktemp('model')/'model.pth'
    torch.save({'model': small_net.state_dict(), 'config': {'channels': 8}}, p)
    return p

def test_init_errors(small_net, tmp_path):
    with pytest.raises(FileNotFoundError, match="neither 'random'"): init_cd(small_net, tmp_path/'missing.pth')
    torch.save({'fc.weight': torch.zeros(2, 2)}, tmp_path/'bad.pth')
    with pytest.raises(SadlDataError, match='bad.pth'): init_cd(CDNet(channels=8), tmp_path/'bad.pth')

def test_cdnet_shapes(small_net):
    net = small_net
    with torch.no_grad(): out = net(torch.randn(2, 3, 96, 40), torch.randn(2, 3, 96, 40))
    assert out.shape == (2, 2, 96, 40)

# --- fine-tuning and the CLIs on LEVIR-CD samples ---

@pytest.fixture(scope='module')
def levir(shared_data, tmp_path_factory):
    "LEVIR-CD samples (linked, not copied) with list files: train 3 pairs, val 1, test 2."
    src, root = shared_data/'levir_samples', tmp_path_factory.mktemp('levir')
    for s in ('A', 'B', 'label'): os.symlink(src/s, root/s)
    names = sorted(p.stem for p in (src/'A').iterdir())
    (root/'list').mkdir()
    for split, keep in (('train', 3), ('val', 1), ('test', 2)):
        (root/'list'/f'{split}.txt').write_text(''.join(f'{n}\n' for n in [n for n in names if n.startswith(split)][:keep]))
    return root

def test_finetune_levir_writes_outputs(levir, tmp_path):
    res = finetune(levir, tmp_path/'ft', epochs=1, bs=4, device='cpu', progress=False)
    assert sorted(res) == sorted([*METRICS, 'ap']) and all(0 <= v <= 1 for v in res.values())
    hist = pd.read_csv(tmp_path/'ft'/'history.csv')
    assert list(hist.columns) == ['epoch', 'step', 'train_loss', 'valid_loss', *METRICS, 'ap'] and len(hist) == 1
    meta = json.loads((tmp_path/'ft'/'metrics.json').read_text())
    assert meta['best_epoch'] == 0 and (meta['n_train'], meta['n_valid'], meta['n_test']) == (3, 1, 2)
    assert meta['config']['init'] == 'random' and all(meta[k] == res[k] for k in METRICS)
    net = load_cd_model(tmp_path/'ft'/'model.pth', device='cpu')
    assert isinstance(net, CDNet) and not net.training

def test_predict_levir_pair_and_figure(shared_data, model_file, tmp_path):
    from sadl.predict import predict_raster
    lv, name = shared_data/'levir_samples', 'test_2_0000_0000.png'
    r = predict_raster(str(model_file), lv/'A'/name, lv/'B'/name, tmp_path/'out', window=128, overlap=32, device='cpu', progress=False)
    assert Path(r['files']['change']).name == 'test_2_0000_0000_change.png' and r['crs'] is None   # PNG in, PNG out
    assert read_mask(r['files']['change']).shape == (256, 256)
    fig = plot_change_map(read_image(lv/'A'/name), read_image(lv/'B'/name), read_mask(r['files']['change']),
                          label=read_mask(lv/'label'/name))
    assert len(fig.axes) == 3

def test_predict_size_mismatch_names_both(shared_data, model_file, tmp_path, console):
    from sadl.tiling import write_image
    lv, name = shared_data/'levir_samples', 'test_2_0000_0000.png'
    write_image(tmp_path/'b_small.png', read_image(lv/'B'/name)[:100, :120])
    r = console('sadl_predict', '--model', model_file, '--a', lv/'A'/name, '--b', tmp_path/'b_small.png', '--quiet', '--device', 'cpu',
                '--out', tmp_path/'o')
    last = r.stderr.strip().splitlines()[-1]            # (library warnings printed on import may come before it)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and last.startswith('sadl_predict: error: ') and name in last and 'b_small.png' in last, r.stderr
    assert not (tmp_path/'o').exists()

def test_finetune_is_seeded(tmp_path):
    "Two runs with the same seed give the same history (data order, init, augmentation)."
    from sadl.synth import make_synthetic
    data = make_synthetic(tmp_path/'cd', kind='cd', n=6, size=32, seed=1, progress=False)
    runs = [finetune(data, tmp_path/f'ft{i}', epochs=1, bs=2, seed=3, device='cpu', progress=False) for i in range(2)]
    h = [pd.read_csv(tmp_path/f'ft{i}'/'history.csv') for i in range(2)]
    assert runs[0] == runs[1]
    pd.testing.assert_frame_equal(h[0], h[1])

def test_val_threshold_travels_with_the_model(levir, tmp_path):
    "A run that picks its decision threshold on validation stores it in model.pth; load_cd_model exposes it."
    res = finetune(levir, tmp_path/'ftv', epochs=1, bs=4, device='cpu', progress=False, threshold='val', monitor='ap')
    meta = json.loads((tmp_path/'ftv'/'metrics.json').read_text())
    net = load_cd_model(tmp_path/'ftv'/'model.pth', device='cpu')
    assert 0 <= meta['threshold'] < 1 and net.threshold == meta['threshold']
    assert meta['config']['monitor'] == 'ap' and set(res) == {*METRICS, 'ap'}
