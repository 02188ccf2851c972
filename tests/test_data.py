"""sadl.data: patch datasets on real samples, bad inputs, nested fractions, fast DataLoaders."""
import time, warnings
import numpy as np, pytest, torch
from sadl.tiling import SadlDataError, read_image, read_mask, save_seg_sample, save_cd_sample, write_splits
from sadl.data import *

torch.set_num_threads(1)

def test_real_cd_samples(shared_data):
    for name, n in (('levir_samples', 11), ('dsifn_samples', 10)):
        ds = CDPatches(shared_data/name, None, progress=False)
        assert len(ds) == n and ds.a.shape == (n, 3, 256, 256) and ds.labels.shape == (n, 256, 256)
        a, b, l = ds[n - 1]
        assert torch.equal(a, torch.from_numpy(read_image(shared_data/name/'A'/f'{ds.names[-1]}.png')).permute(2, 0, 1))
        assert torch.equal(l, torch.from_numpy(read_mask(shared_data/name/'label'/f'{ds.names[-1]}.png')))
        assert set(ds.labels.unique().tolist()) <= {0, 1}

def test_real_seg_memmap(shared_data, tmp_path):
    import shutil; shutil.copytree(shared_data/'inria_samples', tmp_path/'inria')
    m = SegPatches(tmp_path/'inria', None, cache='memmap', progress=False)
    r = SegPatches(tmp_path/'inria', None, progress=False)
    assert torch.equal(m.images, r.images) and torch.equal(m.masks, r.masks) and len(list((tmp_path/'inria/.sadl_cache').glob('*.npy'))) == 2

def _seg(root, n=6, hw=(8, 8)):
    rng = np.random.default_rng(0)
    for i in range(n): save_seg_sample(root, f'p{i}', rng.integers(0, 256, (*hw, 3), dtype=np.uint8), (rng.random(hw) > .5).astype(np.uint8))
    return root

def test_bad_inputs(tmp_path):
    _seg(tmp_path/'a'); (tmp_path/'a/A/p3.png').write_bytes(b'junk')
    with pytest.raises(SadlDataError, match='p3.png'): SegPatches(tmp_path/'a', None, progress=False)
    _seg(tmp_path/'b'); (tmp_path/'b/label/p1.png').unlink()
    with pytest.raises(SadlDataError, match="no file named 'p1"): SegPatches(tmp_path/'b', None, progress=False)
    _seg(tmp_path/'c'); _seg(tmp_path/'c', 1, (8, 9))
    with pytest.raises(SadlDataError, match='p0.png is 9x8'): SegPatches(tmp_path/'c', None, progress=False)
    (tmp_path/'d/A').mkdir(parents=True); (tmp_path/'d/label').mkdir()
    with pytest.raises(SadlDataError, match='no images'): SegPatches(tmp_path/'d', None, progress=False)
    _seg(tmp_path/'e'); import cv2; cv2.imwrite(str(tmp_path/'e/label/p2.png'), np.full((8, 8), 7, np.uint8))
    with pytest.raises(SadlDataError, match=r'p2.png: mask values \[7\]'): SegPatches(tmp_path/'e', None, progress=False)

def test_label_fraction_nested():
    names = [f'x{i}' for i in range(1000)]
    fr = [label_fraction(names, f, seed=3) for f in (.01, .05, .2, 1.)]
    assert [len(f) for f in fr] == [10, 50, 200, 1000]
    assert all(set(a) < set(b) for a, b in zip(fr, fr[1:]))
    assert fr[1] == label_fraction(names, .05, seed=3) and len(label_fraction(names[:5], .01)) == 1

def test_dataloaders_fast(tmp_path):
    root = _seg(tmp_path/'s', 10); write_splits(root, [f'p{i}' for i in range(10)])
    dls = seg_dataloaders(root, bs=4, device='cpu')
    x, y = dls.one_batch()
    assert x.dtype == torch.uint8 and x.shape == (4, 3, 8, 8) and y.shape == (4, 8, 8) and len(dls.train) == 2
    big = SegPatches.from_tensors(torch.randint(0, 256, (128, 3, 256, 256), dtype=torch.uint8), torch.zeros(128, 256, 256, dtype=torch.uint8))
    dl = PatchDL(big, bs=64, shuffle=True, drop_last=True, device='cpu')
    next(iter(dl)); t0 = time.perf_counter(); n = sum(1 for _ in dl)
    assert n == 2 and (time.perf_counter() - t0) / n < 0.25

def test_cd_loaders_and_test_fallback(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(10): save_cd_sample(tmp_path, f'c{i}', *(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2)), np.eye(8, dtype=np.uint8))
    write_splits(tmp_path, [f'c{i}' for i in range(10)], {'train': .8, 'val': .2})
    dls = cd_dataloaders(tmp_path, bs=2, frac=.25, device='cpu')
    assert len(dls.train_ds) == 2 and [t.shape for t in dls.one_batch()] == [(2, 3, 8, 8), (2, 3, 8, 8), (2, 8, 8)]
    with pytest.warns(UserWarning, match='evaluating on val'): tdl = cd_test_dl(dls)
    assert tdl.dataset.split == 'val' and len(tdl.dataset) == 2
