"""Peak memory of whole-scene prediction against scene size (issue 12).

For each side S (default 2048, 8192, 16384) it writes a synthetic georeferenced pair of S x S
RGB GeoTIFFs (tiled, deflate) and runs `sadl.predict.predict_raster` on it in a fresh process,
reporting that process's peak resident memory (ru_maxrss) and wall time. The goal: peak RSS flat
within 20% from 2k to 16k sides, i.e. bounded by the strip of windows, not by the scene
(the in-memory `sadl.predict.predict_scene` needs about 33 bytes per pixel: 8.9 GB at 16k).
`--baseline` also measures `predict_scene` on the same pair (read whole), for comparison.

Run it on a quiet machine; the network is an untrained CDNet (memory does not depend on the
weights). On a CPU the 16k case is long (about 5000 windows of 256 px); use --device cuda there,
or `--net diff` (a trivial network) to measure sadl's own buffers quickly.

    python benchmarks/predict_memory.py --sides 2048 8192 16384 --device cpu
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

CHILD = r'''
import json, resource, sys, time, torch
from pathlib import Path
a, b, model, out, window, overlap, bs, device, mode = sys.argv[1:]
t0 = time.time()
if model == 'diff':       # a trivial network: what is left is the memory of sadl's reading, buffers and writing
    class Diff(torch.nn.Module):
        def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.ones(1))
        def forward(self, a, b): d = (a - b).abs().mean(1) * self.w; return torch.stack([torch.zeros_like(d), d - 1], 1)
    model = Diff()
if mode == 'strips':
    from sadl.predict import predict_raster
    r = predict_raster(model, a, b, out, window=int(window), overlap=int(overlap), bs=int(bs), device=device, progress=False)
    frac = r['changed_fraction']
else:
    import rasterio
    from sadl.cd import load_cd_model
    from sadl.predict import predict_scene
    with rasterio.open(a) as da, rasterio.open(b) as db: ia, ib = da.read().transpose(1, 2, 0).copy(), db.read().transpose(1, 2, 0).copy()
    p = predict_scene(model if not isinstance(model, str) else load_cd_model(model, device), ia, ib, window=int(window), overlap=int(overlap), bs=int(bs), progress=False)
    frac = float((p > 0.5).mean())
print(json.dumps(dict(peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, wall_s=round(time.time() - t0, 1), changed=frac)))
'''

def synth_pair(folder: Path, side: int):
    "Two side x side RGB GeoTIFFs (UTM 33N, 0.5 m), written by strips of 512 rows: smooth fields plus a changed square."
    import numpy as np, rasterio
    from rasterio.transform import from_origin
    prof = dict(driver='GTiff', width=side, height=side, count=3, dtype='uint8', crs='EPSG:32633',
                transform=from_origin(500000, 4650000, 0.5, 0.5), tiled=True, blockxsize=256, blockysize=256, compress='deflate')
    paths = [folder/f'{side}_a.tif', folder/f'{side}_b.tif']
    with rasterio.open(paths[0], 'w', **prof) as da, rasterio.open(paths[1], 'w', **prof) as db:
        x = np.arange(side)
        for y0 in range(0, side, 512):
            y = np.arange(y0, min(side, y0 + 512))[:, None]
            base = ((np.sin(x / 97.) + np.cos(y / 61.)) * 60 + 120).astype(np.uint8)          # (h, side)
            strip = np.stack([base, base // 2 + 40, 255 - base])
            da.write(strip, window=((y0, y0 + strip.shape[1]), (0, side)))
            strip[:, (y % 1024 < 200)[:, 0]] //= 3                                            # changed bands of rows
            db.write(strip, window=((y0, y0 + strip.shape[1]), (0, side)))
    return paths

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--sides', type=int, nargs='+', default=[2048, 8192, 16384])
    ap.add_argument('--window', type=int, default=256); ap.add_argument('--overlap', type=int, default=32)
    ap.add_argument('--bs', type=int, default=4); ap.add_argument('--device', default='cpu')
    ap.add_argument('--baseline', action='store_true', help='also measure the in-memory predict_scene')
    ap.add_argument('--net', default='cdnet', choices=('cdnet', 'diff'), help="cdnet: an untrained CDNet; diff: a trivial network (fast, memory of sadl's own buffers)")
    ap.add_argument('--json', type=Path, help='write the rows to this file')
    a = ap.parse_args()
    import torch
    from sadl.cd import CDNet
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); model = d/'model.pth'
        torch.save({'model': CDNet(channels=32).state_dict(), 'config': {'channels': 32}}, model)
        for side in a.sides:
            pa, pb = synth_pair(d, side)
            for mode in ['strips'] + (['in-memory'] if a.baseline else []):
                out = d/f'out_{side}_{mode}'
                r = subprocess.run([sys.executable, '-c', CHILD, str(pa), str(pb), 'diff' if a.net == 'diff' else str(model), str(out), str(a.window),
                                    str(a.overlap), str(a.bs), a.device, 'strips' if mode == 'strips' else 'memory'],
                                   capture_output=True, text=True)
                if r.returncode: print(r.stderr[-2000:], file=sys.stderr); continue
                row = dict(side=side, mode=mode, net=a.net, device=a.device, **json.loads(r.stdout.strip().splitlines()[-1]))
                rows.append(row); print(json.dumps(row), flush=True)
            for p in (pa, pb): p.unlink()
    s = [r['peak_rss_mb'] for r in rows if r['mode'] == 'strips']
    if len(s) > 1: print(f"strips: peak RSS max/min = {max(s) / min(s):.2f} (goal <= 1.20)")
    if a.json: a.json.write_text(json.dumps(rows, indent=1))

if __name__ == '__main__': main()
