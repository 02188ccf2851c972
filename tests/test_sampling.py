"Masked sampling (sadl.sampling): correspondence through make_views, absent classes, GPU parity."
import pytest, torch
import torch.nn.functional as F
from sadl.views import make_views
from sadl.sampling import sample_points, gather_features, missing_counts, overlap_box

def _ramp_batch(B=8, S=48, seed=0):
    "uint8 images whose channels 0/1 hold each pixel's column/row index; blocky random masks."
    g = torch.Generator().manual_seed(seed)
    ij = torch.stack(torch.meshgrid(torch.arange(S), torch.arange(S), indexing='xy') + (torch.zeros(S, S, dtype=torch.long),))
    img = ij.to(torch.uint8)[None].expand(B, 3, S, S).contiguous()
    m = (torch.rand(B, S // 8, S // 8, generator=g) > 0.5).to(torch.uint8).repeat_interleave(8, 1).repeat_interleave(8, 2)
    return img, m

@pytest.mark.parametrize('seed', [0, 1, 2])
def test_points_see_the_same_pixel_in_both_views(seed):
    S = 48
    img, m = _ramp_batch(S=S, seed=seed)
    vw = make_views(img, m, color=False, swap=None, generator=torch.Generator().manual_seed(seed))
    pts = sample_points(m, vw.g1, vw.g2, n=32, generator=torch.Generator().manual_seed(seed))
    src = pts.src.flatten(1, 2)
    for v, p in ((vw.v1, pts.v1), (vw.v2, pts.v2)):
        p = p.flatten(1, 2)
        ok = ((p > 1) & (p < S - 1)).all(-1) & ((src > 1) & (src < S - 1)).all(-1)
        got = gather_features(v * 255, p, stride=1)[..., :2] + 0.5      # the source coordinate read back from the view
        assert ok.float().mean() > 0.7
        torch.testing.assert_close(got[ok], src[ok], atol=1e-3, rtol=0)

def test_absent_class_is_masked_not_nan():
    g = torch.Generator().manual_seed(3)
    img = (torch.rand(3, 3, 32, 32, generator=g) * 255).to(torch.uint8)
    m = torch.zeros(3, 32, 32, dtype=torch.uint8); m[1] = 1; m[2, 4:12, 4:12] = 1
    vw = make_views(img, m, generator=g)
    pts = sample_points(m, vw.g1, vw.g2, generator=g)
    assert pts.valid.tolist()[:2] == [[True, False], [False, True]]
    f = gather_features(torch.randn(3, 5, 8, 8, generator=g), pts.v1.flatten(1, 2))
    assert torch.isfinite(f).all() and f.shape == (3, 32, 5)
    assert missing_counts(pts.valid)['no_building'] >= 1

@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
def test_same_points_on_gpu():
    img, m = _ramp_batch()
    g = lambda: torch.Generator().manual_seed(4)
    a = make_views(img, m, generator=g()); pa = sample_points(m, a.g1, a.g2, generator=g())
    b = make_views(img.cuda(), m.cuda(), generator=g()); pb = sample_points(m.cuda(), b.g1, b.g2, generator=g())
    assert pb.v1.is_cuda and pb.valid.is_cuda
    torch.testing.assert_close(overlap_box(b.g1, b.g2).cpu(), overlap_box(a.g1, a.g2))
    torch.testing.assert_close(pb.src.cpu(), pa.src); torch.testing.assert_close(pb.v2.cpu(), pa.v2, atol=1e-4, rtol=0)
    assert torch.equal(pb.valid.cpu(), pa.valid)
