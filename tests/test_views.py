"Views (sadl.views) on real Inria patches, and the same views on CPU and GPU."
import pytest, torch
from sadl.tiling import read_image, read_mask
from sadl.views import make_views, background_swap, color_transfer, apply_geometry

def _inria(d, n=4):
    fs = sorted((d/'inria_samples'/'A').glob('*.png'))[:n]
    img = torch.stack([torch.from_numpy(read_image(f)).permute(2, 0, 1) for f in fs])
    m = torch.stack([torch.from_numpy(read_mask(d/'inria_samples'/'label'/f.name)) for f in fs])
    return img, m

@pytest.mark.parametrize('swap', ['paste', 'color', 'blend'])
def test_swap_keeps_buildings_on_real_patches(shared_data, swap):
    torch.set_num_threads(1)
    img, m = _inria(shared_data)
    vw = make_views(img, m, swap=swap, generator=torch.Generator().manual_seed(0))
    assert vw.v3.shape == vw.v1.shape and torch.isfinite(vw.v3).all() and vw.v3.min() >= 0 and vw.v3.max() <= 1
    b = vw.m1.bool()[:, None].expand_as(vw.v1)
    assert b.any() and torch.equal(vw.v3[b], vw.v1[b]) and torch.equal(vw.m3, vw.m1)
    bg = ((vw.m1 == 0) & (vw.m1.flip(0) == 0))[:, None].expand_as(vw.v1)
    assert (vw.v3[bg] != vw.v1[bg]).float().mean() > 0.5                      # the background did change

def test_color_transfer_real(shared_data):
    img, _ = _inria(shared_data)
    x = img.float() / 255
    o = color_transfer(x.flip(0), x)
    torch.testing.assert_close(o.mean((2, 3)), x.mean((2, 3)), atol=1e-5, rtol=0)
    torch.testing.assert_close(o.std((2, 3), unbiased=False), x.std((2, 3), unbiased=False), atol=1e-4, rtol=0)

def test_natural_view_uses_view1_geometry():
    g = torch.Generator().manual_seed(1)
    img, img_b = ((torch.rand(2, 4, 3, 16, 16, generator=g) * 255).to(torch.uint8))
    m = torch.zeros(4, 16, 16, dtype=torch.uint8)
    vw = make_views(img, m, color=False, swap='natural', img_b=img_b, generator=g)
    torch.testing.assert_close(vw.v3, apply_geometry(img_b.float() / 255, vw.g1))

@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
def test_same_views_on_gpu():
    g = lambda: torch.Generator().manual_seed(2)
    img = (torch.rand(8, 3, 64, 64, generator=g()) * 255).to(torch.uint8)
    m = (torch.rand(8, 64, 64, generator=g()) > 0.5).to(torch.uint8)
    a = make_views(img, m, generator=g())
    b = make_views(img.cuda(), m.cuda(), generator=g())
    assert b.v1.is_cuda and b.m3.is_cuda and b.g1.box.is_cuda
    for k in ('v1', 'v2', 'v3'): torch.testing.assert_close(getattr(b, k).cpu(), getattr(a, k), atol=1e-4, rtol=0)
    assert (b.m1.cpu() != a.m1).float().mean() < 1e-3                           # nearest ties may round differently
