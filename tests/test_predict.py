"""sadl.predict: in-memory sliding-window prediction, and windowed, georeferenced prediction (synthetic GeoTIFFs with a CRS, and the real PNG samples)."""
import json
from pathlib import Path
import numpy as np, pytest, torch, rasterio
from rasterio.transform import from_origin
from sadl.cd import CDNet
from sadl.core import SadlDataError, normalize
from sadl.predict import predict_scene, predict_raster, predict_pairs, find_pairs, open_pair
from sadl.tiling import read_mask, write_image

torch.set_num_threads(1)
TR = from_origin(600000, 5000000, 0.3, 0.3)

def _gtiff(path, arr, crs='EPSG:32632'):
    with rasterio.open(path, 'w', driver='GTiff', width=arr.shape[2], height=arr.shape[1], count=arr.shape[0], dtype=arr.dtype,
                       crs=crs, transform=TR) as d: d.write(arr)
    return path

# --- sliding-window prediction ---

def _rand_pair(h, w, seed=0):
    g = np.random.default_rng(seed)
    return g.integers(0, 256, (h, w, 3), dtype=np.uint8), g.integers(0, 256, (h, w, 3), dtype=np.uint8)

def test_predict_scene_equals_patchwise_without_overlap():
    torch.manual_seed(0); net = CDNet(channels=8).eval()
    A, B = _rand_pair(128, 192)
    pr = predict_scene(net, A, B, window=64, overlap=0, bs=5, progress=False)
    ta, tb = (normalize(torch.from_numpy(x).permute(2, 0, 1)[None]) for x in (A, B))
    ref = np.zeros((128, 192), np.float32)
    with torch.no_grad():
        for i in range(0, 128, 64):
            for j in range(0, 192, 64):
                ref[i:i+64, j:j+64] = net(ta[..., i:i+64, j:j+64], tb[..., i:i+64, j:j+64]).softmax(1)[0, 1].numpy()
    np.testing.assert_allclose(pr, ref, atol=1e-5)

class _PixelNet(torch.nn.Module):
    "Per-pixel model: its output does not depend on the window, so blending must reproduce the full image."
    def __init__(self):
        super().__init__(); torch.manual_seed(0); self.c = torch.nn.Conv2d(6, 2, 1)
    def forward(self, a, b): return self.c(torch.cat([a, b], 1))

@pytest.mark.parametrize('h,w', [(100, 150), (40, 50), (64, 64), (33, 200), (1, 70)])
@pytest.mark.parametrize('overlap', [0, 16, 48])
def test_predict_scene_any_size(h, w, overlap):
    pn = _PixelNet()
    A, B = _rand_pair(h, w, seed=h * w)
    ta, tb = (normalize(torch.from_numpy(x).permute(2, 0, 1)[None]) for x in (A, B))
    with torch.no_grad(): full = pn(ta, tb).softmax(1)[0, 1].numpy()
    pr = predict_scene(pn, A, B, window=64, overlap=overlap, bs=2, progress=False)
    assert pr.shape == (h, w) and pr.dtype == np.float32
    np.testing.assert_allclose(pr, full, atol=1e-5)

def test_predict_scene_errors():
    net = _PixelNet(); A, B = _rand_pair(70, 70)
    with pytest.raises(SadlDataError, match='differ in size'): predict_scene(net, A, B[:, :-3], window=64)
    with pytest.raises(ValueError, match='multiple of 32'): predict_scene(net, A, B, window=50)
    with pytest.raises(ValueError, match='overlap'): predict_scene(net, A, B, window=64, overlap=-1)

@pytest.fixture(scope='module')
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    f = tmp_path_factory.mktemp('m')/'model.pth'
    torch.save({'model': CDNet(channels=8).state_dict(), 'config': {'channels': 8}}, f)
    return f

def test_geotiff_out_keeps_crs_and_matches_in_memory(tmp_path, model_file):
    g = np.random.default_rng(1)
    a = g.integers(0, 256, (3, 200, 150), dtype=np.uint8); b = a.copy(); b[:, 50:90] = 0
    _gtiff(tmp_path/'a.tif', a); _gtiff(tmp_path/'b.tif', b)
    r = predict_raster(model_file, tmp_path/'a.tif', tmp_path/'b.tif', tmp_path/'o', window=64, overlap=16, prob=True,
                       polygons=True, device='cpu', progress=False)
    with rasterio.open(r['files']['change']) as d: assert d.crs.to_epsg() == 32632 and d.transform == TR
    with rasterio.open(r['files']['prob']) as d: p = d.read(1)
    net = CDNet(channels=8); net.load_state_dict(torch.load(model_file)['model']); net.eval()
    np.testing.assert_allclose(p, predict_scene(net, a.transpose(1, 2, 0), b.transpose(1, 2, 0), window=64, overlap=16, progress=False), atol=1e-6)
    assert json.loads(Path(r['files']['polygons']).read_text())['type'] == 'FeatureCollection'
    assert json.loads(Path(r['files']['summary']).read_text())['crs'] == 'EPSG:32632'

def test_bands_and_12bit_stretch(tmp_path, model_file):
    g = np.random.default_rng(2)
    a = (g.integers(0, 4096, (4, 64, 64))).astype(np.uint16)
    _gtiff(tmp_path/'a.tif', a); _gtiff(tmp_path/'b.tif', a[::-1].copy())
    r = predict_raster(model_file, tmp_path/'a.tif', tmp_path/'b.tif', tmp_path/'o', window=64, overlap=0, bands='4,3,2', device='cpu', progress=False)
    assert r['bands'] == [4, 3, 2] and r['band_count'] == 4 and r['stretch'] == ['percentile 2-98'] * 2
    with pytest.raises(Exception, match='bands'): open_pair(tmp_path/'a.tif', tmp_path/'b.tif', bands='1,2,9')

def test_pairs_named_by_folder_never_overwrite(tmp_path, model_file):
    img = np.full((64, 64, 3), 100, np.uint8)
    for k in ('1', '2'): write_image(tmp_path/'sz'/'Szada'/k/'im1.bmp', img); write_image(tmp_path/'sz'/'Szada'/k/'im2.BMP', img)
    assert [n for n, _, _ in find_pairs(tmp_path/'sz')] == ['Szada_1', 'Szada_2']
    rs = predict_pairs(model_file, tmp_path/'sz', tmp_path/'o', window=64, overlap=0, device='cpu', progress=False)
    assert [Path(r['files']['change']).name for r in rs] == ['Szada_1_change.png', 'Szada_2_change.png']
    with pytest.raises(FileExistsError, match='--force'): predict_pairs(model_file, tmp_path/'sz', tmp_path/'o', window=64, overlap=0, device='cpu')

def test_levir_folder_cli(shared_data, model_file, tmp_path, console):
    lv = shared_data/'levir_samples'
    for d in ('A', 'B'):                                   # two real pairs, linked (never copied into the repo)
        (tmp_path/'src'/d).mkdir(parents=True)
        for f in sorted((lv/d).iterdir())[:2]: (tmp_path/'src'/d/f.name).symlink_to(f)
    r = console('sadl_predict', '--model', model_file, '--pairs', tmp_path/'src', '--out', tmp_path/'o',
                '--window', '256', '--overlap', '0', '--device', 'cpu')
    assert r.returncode == 0 and 'no georeference' in r.stdout, r.stderr
    masks = sorted((tmp_path/'o').glob('*_change.png'))
    assert len(masks) == 2 and read_mask(masks[0]).shape == (256, 256)
