"""sadl.core, the ground floor: stage modules load it without the disk readers of sadl.tiling, the names
moved here are the same objects where they were imported from before, and the one Gaussian blur gives
bit-identical results to the two implementations it replaced."""
import math, subprocess, sys
import numpy as np, pytest, torch
import torch.nn.functional as F
from sadl import core

torch.set_num_threads(1)

def test_stage_modules_do_not_load_tiling():
    code = ("import sys, sadl.views, sadl.model, sadl.learner, sadl.cd, sadl.sampling, sadl.losses; "
            "print('sadl.tiling' in sys.modules)")
    r = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == 'False'

@pytest.mark.parametrize('mod,names', [
    ('tiling', ['SadlDataError', 'atomic_path', 'shared_data', 'IMAGE_EXTS']),
    ('data', ['IMAGENET_MEAN', 'IMAGENET_STD', 'device_const', 'normalize']),
    ('cd', ['METRICS']),
    ('analysis', ['METRICS']),
    ('reproduce', ['METRICS']),
])
def test_reexports_are_the_same_objects(mod, names):
    import importlib
    m = importlib.import_module(f'sadl.{mod}')
    for n in names:
        assert getattr(m, n) is getattr(core, n), f'sadl.{mod}.{n}'
        assert n in m.__all__, f'{n} missing from sadl.{mod}.__all__'

@pytest.mark.parametrize('mod,names', [
    ('analysis', ['METRIC_SHORT', 'INIT_NAMES', 'TABLES']),
    ('reproduce', ['METHODS', 'INITS', 'TABLE1']),
])
def test_registry_reexports(mod, names):
    import importlib
    from sadl import registry
    m = importlib.import_module(f'sadl.{mod}')
    for n in names: assert getattr(m, n) is getattr(registry, n) and n in m.__all__, f'sadl.{mod}.{n}'

def test_analysis_and_reproduce_do_not_import_each_other():
    for mod, other in (('analysis', 'reproduce'), ('reproduce', 'analysis')):
        code = f"import sys, sadl.{mod}; print('sadl.{other}' in sys.modules)"
        r = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], capture_output=True, text=True)
        assert r.stdout.strip() == 'False', (mod, r.stdout, r.stderr[-1000:])

def test_moved_names_import_as_before():
    from sadl.tiling import SadlDataError
    from sadl.data import normalize
    from sadl.views import gaussian_blur
    assert SadlDataError is core.SadlDataError and normalize is core.normalize
    assert callable(gaussian_blur)

@pytest.mark.parametrize('mod,low,names', [
    ('cd', 'metrics', ['change_metrics', 'confusion', 'ap_histograms', 'average_precision', 'threshold_metrics', 'best_threshold',
                       'ChangeMetric', 'ChangeAP', 'cd_metrics']),
    ('learner', 'train', ['poly_lr', 'sadl_opt', 'distrib_setup', 'SaDLViewsCallback', 'LossPart', 'QuietSkipToEpoch', 'HistoryCSV',
                          'Checkpoint', 'load_checkpoint', 'BackboneExport', 'BF16Autocast', 'SaDLDistributed', 'check_same_run',
                          'finished_epochs']),
    ('config', 'registry', ['PRETRAIN_METHODS']),
])
def test_names_moved_down_a_floor_import_as_before(mod, low, names):
    import importlib
    m, lo = importlib.import_module(f'sadl.{mod}'), importlib.import_module(f'sadl.{low}')
    for n in names: assert getattr(m, n) is getattr(lo, n) and n in m.__all__, f'sadl.{mod}.{n}'

def test_whole_scene_prediction_is_only_in_predict():
    import sadl.cd, sadl.predict
    assert callable(sadl.predict.predict_scene) and not hasattr(sadl.cd, 'predict_scene')   # no re-export back down

# --- the Gaussian blur against the implementations it replaced (copied verbatim) ---

def _old_views_kernels(sigma, radius):      # sadl.views._gauss_kernels
    t = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
    s = sigma.clamp_min(1e-6)[:, None]
    k = torch.exp(-0.5 * (t / s) ** 2)
    k = k / k.sum(1, keepdim=True)
    return torch.where(sigma[:, None] > 0, k, (t == 0).to(k)[None].expand_as(k))

def _old_views_conv(x, k, pad_mode='reflect'):   # sadl.views._sep_conv
    B, C, H, W = x.shape
    r = k.shape[1] // 2
    if r == 0: return x * k[:, :1, None, None]
    wk = k.repeat_interleave(C, 0)[:, None]
    y = F.pad(x.reshape(1, B * C, H, W), (r, r, r, r), mode=pad_mode)
    y = F.conv2d(y, wk[:, :, None, :], groups=B * C)
    y = F.conv2d(y, wk[:, :, :, None], groups=B * C)
    return y.view(B, C, H, W)

def _old_cd_blur(x, sigma):                 # sadl.cd._gaussian_blur
    r = math.ceil(3 * float(sigma.max())) if len(sigma) else 0
    if r == 0: return x
    B, C, H, W = x.shape
    t = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
    s = sigma.to(x).clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2); k = k / k.sum(1, keepdim=True)
    k = k.repeat_interleave(C, 0)
    y = x.reshape(1, B * C, H, W)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode='replicate'), k[:, None, None, :], groups=B * C)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode='replicate'), k[:, None, :, None], groups=B * C)
    return y.reshape(B, C, H, W)

@pytest.mark.parametrize('shape', [(4, 3, 32, 40), (3, 1, 17, 23), (2, 3, 64, 64)])
@pytest.mark.parametrize('scale', [0.05, 1., 3.])
def test_blur_bit_identical_to_old(shape, scale):
    g = torch.Generator().manual_seed(shape[2] + int(10 * scale))
    x = torch.rand(*shape, generator=g)
    sig = scale * torch.rand(shape[0], generator=g); sig[0] = 0.
    assert torch.equal(core.blur(x, sig), _old_cd_blur(x, sig))
    for r in (0, 1, 6):
        k = core.gaussian_kernels(sig, r)
        assert torch.equal(k, _old_views_kernels(sig, r))
        for mode in ('reflect', 'replicate'):
            assert torch.equal(core.separable_conv(x, k, mode), _old_views_conv(x, k, mode))

def test_joint_augment_unchanged():
    "`sadl.cd.joint_augment` (now on core.rand/uniform/blur) draws and blurs as it did with torch.rand and its own blur."
    from sadl.cd import joint_augment
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(4, 3, 32, 32, generator=g), torch.rand(4, 3, 32, 32, generator=g)
    y = (torch.rand(4, 32, 32, generator=g) > .5).to(torch.uint8)
    na, nb, ny = joint_augment(a, b, y, generator=torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    h, v = torch.rand(2, 4, generator=gen) < 0.5
    def _w(m, x, d): return torch.where(m.view(-1, *[1] * (x.ndim - 1)), x.flip(d), x)
    oa, ob, oy = (_w(v, _w(h, x, (-1,)), (-2,)) for x in (a, b, y))
    s = torch.rand(4, generator=gen) * 1.0
    assert torch.equal(na, _old_cd_blur(oa, s)) and torch.equal(nb, _old_cd_blur(ob, s)) and torch.equal(ny, oy)

def test_rand_on_generator_device():
    g = lambda: torch.Generator().manual_seed(3)
    assert torch.equal(core.rand((2, 5), g()), torch.rand((2, 5), generator=g()))
    u = core.uniform(1000, -1., 2., g()); assert -1 <= u.min() and u.max() < 2

def test_to_hwc():
    t = torch.arange(24, dtype=torch.uint8).view(3, 2, 4)
    np.testing.assert_array_equal(core.to_hwc(t), t.permute(1, 2, 0).numpy())
    assert core.to_hwc(t[0]).shape == (2, 4)
    a = np.zeros((5, 6, 3), np.uint8); assert core.to_hwc(a) is a

def test_image_index(tmp_path):
    (tmp_path/'A').mkdir()
    for f in ('b.png', 'a.TIF', 'x.txt'): (tmp_path/'A'/f).write_bytes(b'')
    assert list(core.image_index(tmp_path/'A')) == ['a', 'b']
    with pytest.raises(FileNotFoundError, match='folder not found'): core.image_index(tmp_path/'B')
