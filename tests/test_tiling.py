"""sadl.tiling: I/O, names, splits, tiling of real samples and the sadl_tile CLI."""
import subprocess, sys
from pathlib import Path
import numpy as np, cv2, pytest
from sadl.tiling import *

def test_read_write_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8); m = (rng.random((9, 11)) > .5).astype(np.uint8)
    write_image(tmp_path/'a/x.png', img); write_mask(tmp_path/'l/x.png', m)
    assert np.array_equal(read_image(tmp_path/'a/x.png'), img) and np.array_equal(read_mask(tmp_path/'l/x.png'), m)
    cv2.imwrite(str(tmp_path/'g.tif'), (img[..., 0].astype(np.uint16) * 257))
    assert np.array_equal(read_image(tmp_path/'g.tif'), np.repeat(img[..., :1], 3, 2))

def test_bad_inputs(tmp_path):
    (tmp_path/'bad.png').write_bytes(b'garbage')
    with pytest.raises(SadlDataError, match='bad.png'): read_image(tmp_path/'bad.png')
    with pytest.raises(FileNotFoundError, match='missing.png'): read_image(tmp_path/'missing.png')
    cv2.imwrite(str(tmp_path/'m7.png'), np.array([[0, 7], [255, 0]], np.uint8))
    with pytest.raises(SadlDataError, match=r'm7\.png.*\[0, 7, 255\]'): read_mask(tmp_path/'m7.png')

def test_names_splits(tmp_path):
    assert patch_name('austin1', 0, 256) == 'austin1_0000_0256'
    names = [f'n{i}' for i in range(3)]
    s = write_splits(tmp_path, names, {'train': .8, 'val': .1, 'test': .1})
    assert all(len(v) == 1 for v in s.values())
    assert (tmp_path/'list/test.txt').read_text().split() == s['test']
    assert write_splits(tmp_path, names[::-1], {'train': .8, 'val': .1, 'test': .1}) == s

def _scene(tmp_path, shared_data):
    "The 8 Inria samples stitched back into their 256x2048 strip of austin1."
    img, org = stitch_patches(shared_data/'inria_samples/A', 'austin1')
    msk, _ = stitch_patches(shared_data/'inria_samples/label', 'austin1', read_mask)
    return img, msk, org

def test_inria_strip_retiles_exactly(tmp_path, shared_data):
    img, msk, org = _scene(tmp_path, shared_data)
    assert img.shape == (256, 2048, 3) and org == (0, 256)
    write_image(tmp_path/'src/A/austin1.tif', img); write_mask(tmp_path/'src/label/austin1.tif', msk)
    r = tile_seg(tmp_path/'src', tmp_path/'out', drop_empty=False, origin=org, progress=False)
    src = sorted(p.stem for p in (shared_data/'inria_samples/A').iterdir())
    assert sorted(p.stem for p in (tmp_path/'out/A').iterdir()) == src and r['written'] == 8
    for n in src:
        assert np.array_equal(read_image(tmp_path/f'out/A/{n}.png'), read_image(shared_data/f'inria_samples/A/{n}.png'))
        assert np.array_equal(read_mask(tmp_path/f'out/label/{n}.png'), read_mask(shared_data/f'inria_samples/label/{n}.png'))
    # the same by placing the strip at column 256 of a larger canvas
    canvas = np.zeros((256, 2304, 3), np.uint8); canvas[:, 256:] = img
    cm = np.zeros((256, 2304), np.uint8); cm[:, 256:] = msk
    write_image(tmp_path/'src2/A/austin1.png', canvas); write_mask(tmp_path/'src2/label/austin1.png', cm)
    tile_seg(tmp_path/'src2', tmp_path/'out2', drop_empty=False, progress=False)
    assert np.array_equal(read_image(tmp_path/'out2/A/austin1_0000_1024.png'), read_image(shared_data/'inria_samples/A/austin1_0000_1024.png'))

def test_odd_sizes_and_padding():
    assert tile_offsets(300, 517) == [(0, 0), (0, 256)]
    assert len(tile_offsets(300, 517, pad=True)) == 6
    a = np.arange(300 * 517, dtype=np.int32).reshape(300, 517)
    out = np.zeros((512, 768), np.int32)
    for r, c, p in tile_array(a, pad=True): out[r:r + 256, c:c + 256] = p
    assert np.array_equal(out[:300, :517], a) and out[300:].sum() == 0

def test_bad_scenes(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8); m = np.zeros((300, 300), np.uint8)
    save_seg_sample(tmp_path/'s', 'x', img, m[:299])
    with pytest.raises(SadlDataError, match=r'x\.png is 300x300 but .*x\.png is 300x299'): tile_seg(tmp_path/'s', tmp_path/'o', progress=False)
    save_seg_sample(tmp_path/'u', 'x', img, m); write_image(tmp_path/'u/A/a.png', img)
    with pytest.raises(SadlDataError, match="a.png: no counterpart named 'a"): tile_seg(tmp_path/'u', tmp_path/'o', progress=False)
    (tmp_path/'e/A').mkdir(parents=True); (tmp_path/'e/label').mkdir()
    with pytest.raises(SadlDataError, match='no images'): tile_seg(tmp_path/'e', tmp_path/'o', progress=False)

def _mosaic(folder, stems, d):
    rd = read_mask if d == 'label' else read_image
    return np.concatenate([np.concatenate([rd(folder/d/f'{s}.png') for s in stems[i*3:i*3+3]], 1) for i in range(2)], 0)

def test_cli_odd_sizes_both_layouts(tmp_path, shared_data):
    lv = shared_data/'levir_samples'; stems = sorted(p.stem for p in (lv/'A').iterdir())[:6]
    mos = {d: _mosaic(lv, stems, d)[:300, :517] for d in ('A', 'B', 'label')}
    save_cd_sample(tmp_path/'cd', 'levir', mos['A'], mos['B'], mos['label'])
    img, msk, _ = _scene(tmp_path, shared_data)
    save_seg_sample(tmp_path/'seg', 'austin1', img[:, :517], msk[:, :517])
    subprocess.run([str(Path(sys.executable).parent/'sadl_tile'),
                    str(tmp_path/'cd'), str(tmp_path/'cd_out'), '--pad'], check=True, capture_output=True)
    assert sorted((tmp_path/'cd_out/list').iterdir()) == [tmp_path/f'cd_out/list/{s}.txt' for s in ('test', 'train', 'val')]
    assert len(list((tmp_path/'cd_out/B').iterdir())) == 6
    assert np.array_equal(read_mask(tmp_path/'cd_out/label/levir_0000_0256.png'), mos['label'][:256, 256:512])
    sadl_tile(str(tmp_path/'seg'), str(tmp_path/'seg_out'), drop_empty=True)
    kept = (tmp_path/'seg_out/list/train.txt').read_text().split() + (tmp_path/'seg_out/list/val.txt').read_text().split()
    assert sorted(kept) == sorted(p.stem for p in (tmp_path/'seg_out/A').iterdir()) and not (tmp_path/'seg_out/B').exists()
    assert all(read_mask(tmp_path/f'seg_out/label/{n}.png').any() for n in kept)
