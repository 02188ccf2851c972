"""sadl.tiling: I/O, names, splits, tiling of real samples and the sadl_tile CLI."""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, cv2, pytest
from sadl.tiling import *

def test_read_write_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8); m = (rng.random((9, 11)) > .5).astype(np.uint8)
    write_image(tmp_path/'a/x.png', img); write_mask(tmp_path/'l/x.png', m)
    assert np.array_equal(read_image(tmp_path/'a/x.png'), img) and np.array_equal(read_mask(tmp_path/'l/x.png'), m)
    cv2.imwrite(str(tmp_path/'g.tif'), (img[..., 0].astype(np.uint16) * 257))
    assert np.array_equal(read_image(tmp_path/'g.tif', stretch='none'), np.repeat(img[..., :1], 3, 2))   # 16-bit scaled by 1/257

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
    assert tile_offsets(300, 517, edge='drop') == [(0, 0), (0, 256)]
    assert tile_offsets(300, 517) == [(r, c) for r in (0, 44) for c in (0, 256, 261)]
    assert len(tile_offsets(300, 517, edge='pad')) == 6
    a = np.arange(300 * 517, dtype=np.int32).reshape(300, 517)
    out = np.zeros((512, 768), np.int32)
    for r, c, p in tile_array(a, edge='pad'): out[r:r + 256, c:c + 256] = p
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

def test_cli_odd_sizes_both_layouts(tmp_path, shared_data, console):
    lv = shared_data/'levir_samples'; stems = sorted(p.stem for p in (lv/'A').iterdir())[:6]
    mos = {d: _mosaic(lv, stems, d)[:300, :517] for d in ('A', 'B', 'label')}
    save_cd_sample(tmp_path/'cd', 'levir', mos['A'], mos['B'], mos['label'])
    img, msk, _ = _scene(tmp_path, shared_data)
    save_seg_sample(tmp_path/'seg', 'austin1', img[:, :517], msk[:, :517])
    r = console('sadl_tile', tmp_path/'cd', tmp_path/'cd_out', '--pad')
    assert r.returncode == 0 and 'recognised: plain CD' in r.stdout and 'by spatial blocks' in r.stdout, r.stdout + r.stderr
    assert sorted((tmp_path/'cd_out/list').iterdir()) == [tmp_path/f'cd_out/list/{s}.txt' for s in ('test', 'train', 'val')]
    assert len(list((tmp_path/'cd_out/B').iterdir())) == 6
    assert np.array_equal(read_mask(tmp_path/'cd_out/label/levir_0000_0256.png'), mos['label'][:256, 256:512])
    from sadl.cli import sadl_tile
    sadl_tile(str(tmp_path/'seg'), str(tmp_path/'seg_out'), drop_empty=True, quiet=True)
    kept = (tmp_path/'seg_out/list/train.txt').read_text().split() + (tmp_path/'seg_out/list/val.txt').read_text().split()
    assert sorted(kept) == sorted(p.stem for p in (tmp_path/'seg_out/A').iterdir()) and not (tmp_path/'seg_out/B').exists()
    assert all(read_mask(tmp_path/f'seg_out/label/{n}.png').any() for n in kept)

# --- leak-free splits, layouts, --binarize, stale outputs (issue 12) ---

def _coord_scene(h, w):
    "Pixel (i,j) coloured (i % 256, j % 256, 16*(i//256) + j//256): unique up to 4096 px."
    i, j = np.mgrid[:h, :w]
    return np.dstack([i % 256, j % 256, 16 * (i // 256) + j // 256]).astype(np.uint8)

def _pixels(out, split):
    "(scene, pixel code) of every pixel of the patches of `split`, read from the patches themselves."
    s = set()
    for n in (out/'list'/f'{split}.txt').read_text().split():
        p = read_image(out/'A'/f'{n}.png').astype(np.int64)
        s |= {(n.rsplit('_', 2)[0], v) for v in np.unique(p[..., 0] * 65536 + p[..., 1] * 256 + p[..., 2])}
    return s

@pytest.mark.parametrize('n_scenes,side,stride,split_by', [(1, 512, 16, 'block'), (5, 192, 32, 'scene')])
def test_no_test_pixel_in_train(tmp_path, n_scenes, side, stride, split_by):
    sc = _coord_scene(side, side); lab = np.zeros((side, side), np.uint8)
    for k in range(n_scenes): save_cd_sample(tmp_path/'src', f's{k}', sc, sc, lab)
    r = tile_scenes(tmp_path/'src', tmp_path/'out', size=64, stride=stride, progress=False)   # stride < size: overlapping patches
    assert r['split_by'] == split_by and not r['leaks'] and min(r['splits'].values()) > 0
    tr = _pixels(tmp_path/'out', 'train')
    for s in ('val', 'test'): assert not (tr & _pixels(tmp_path/'out', s))
    lists = [n for s in r['splits'] for n in (tmp_path/'out'/'list'/f'{s}.txt').read_text().split()]
    assert sorted(lists) == sorted(p.stem for p in (tmp_path/'out'/'A').iterdir())    # every patch in exactly one list

def test_patch_split_leaks_and_says_so(tmp_path, console):
    sc = _coord_scene(256, 256); save_cd_sample(tmp_path/'src', 'whu', sc, sc, np.zeros((256, 256), np.uint8))
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '64', '--stride', '32', '--split_by', 'patch', '--quiet')
    assert r.returncode == 0 and 'inflated' in r.stderr, r.stderr
    assert _pixels(tmp_path/'out', 'train') & _pixels(tmp_path/'out', 'test')

def _tree(root, files):
    px, mk = np.full((70, 90, 3), 80, np.uint8), np.zeros((70, 90), np.uint8)
    for f in files:
        low = f.lower()
        (write_mask if any(k in low for k in ('label', 'gt/', 'change')) else write_image)(root/f, mk if any(k in low for k in ('label', 'gt/', 'change')) else px)
    return root

@pytest.mark.parametrize('files,name,own', [
    (['train/A/1.png', 'train/B/1.png', 'train/label/1.png', 'test/A/2.png', 'test/B/2.png', 'test/label/2.png'], 'LEVIR-CD', True),
    (['Building change detection dataset/1. The two-period image data/before/before.tif',
      'Building change detection dataset/1. The two-period image data/after/after.tif',
      'Building change detection dataset/1. The two-period image data/change label/change_label.tif'], 'WHU-CD', False),
    (['AerialImageDataset/train/images/austin1.tif', 'AerialImageDataset/train/gt/austin1.tif',
      'AerialImageDataset/train/images/chicago1.tif', 'AerialImageDataset/train/gt/chicago1.tif',
      'AerialImageDataset/test/images/bellingham1.tif'], 'Inria', False),
    (['T1/P_GZ1.tif', 'T2/P_GZ1.tif', 'labels_change/P_GZ1.tif'], 'Guangzhou-CD', False),
    (['A/x.BMP', 'B/x.bmp', 'label/x.PNG'], 'plain CD', False),
])
def test_layouts_people_download(tmp_path, files, name, own):
    lay = detect_layout(_tree(tmp_path/'src', files))
    assert lay['name'].startswith(name) and lay['own_split'] == own, lay['name']
    r = tile_scenes(tmp_path/'src', tmp_path/'out', size=32, progress=False)
    assert r['source'] == lay['name'] and r['written'] > 0

def test_list_split_of_the_source_is_kept(tmp_path):
    _tree(tmp_path/'src', [f'{d}/s{k}.png' for k in range(3) for d in ('A', 'B', 'label')])
    (tmp_path/'src/list').mkdir(); (tmp_path/'src/list/train.txt').write_text('s0\ns2\n'); (tmp_path/'src/list/test.txt').write_text('s1\n')
    r = tile_scenes(tmp_path/'src', tmp_path/'out', size=32, progress=False)
    assert r['split_by'] == 'own' and r['splits'] == {'train': 18, 'test': 9}   # 70x90 at 32: 3x3 patches, the last on the border
    assert all(n.startswith('s1_') for n in (tmp_path/'out/list/test.txt').read_text().split())

def test_binarize_and_stale_outputs(tmp_path, console):
    img = np.full((64, 64, 3), 90, np.uint8); m = np.zeros((64, 64), np.uint8); m[:10] = 213; m[10:20] = 255
    write_image(tmp_path/'src/A/x.png', img); (tmp_path/'src/label').mkdir(); cv2.imwrite(str(tmp_path/'src/label/x.png'), m)
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '32', '--quiet')
    assert r.returncode == 2 and '213' in r.stderr and '--binarize' in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert not (tmp_path/'out').exists()                                       # refused: no empty folder left
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '32', '--binarize', '128', '--quiet')
    assert r.returncode == 0, r.stderr
    assert read_mask(tmp_path/'out/label/x_0000_0000.png')[:20].all()
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '16', '--binarize', '128', '--quiet')
    assert r.returncode == 2 and '--force' in r.stderr
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '16', '--binarize', '128', '--quiet', '--force', '--keep_empty')
    assert r.returncode == 0 and len(list((tmp_path/'out/A').iterdir())) == 16   # the 32 px patches are gone

BG, ROAD, BLD = (132, 41, 246), (110, 193, 228), (60, 16, 152)

def test_class_colour_masks(tmp_path, console):
    "Made-up 3-colour RGB masks in the Dubai set's layout, with a classes.json that lists the building colour wrongly."
    g = np.random.default_rng(0)
    for k in range(2):
        cm = np.zeros((64, 96, 3), np.uint8); cm[:] = BG; cm[:16] = ROAD; cm[32:56, 8:30] = BLD    # 66.4% land, 25% road, 8.6% building
        write_image(tmp_path/f'src/Tile {k}/images/p.jpg', g.integers(0, 256, (64, 96, 3), dtype=np.uint8)); write_image(tmp_path/f'src/Tile {k}/masks/p.png', cm)
    (tmp_path/'src/classes.json').write_text(json.dumps({'classes': [{'title': 'Road', 'color': '#6EC1E4'}, {'title': 'Building', 'color': '#D0021B'}]}))
    assert mask_colours(tmp_path/'src/Tile 0/masks/p.png') == {BG: 4080, ROAD: 1536, BLD: 528}
    with pytest.raises(SadlDataError, match=r"lists Road, Building\); choose the class"): tile_scenes(tmp_path/'src', tmp_path/'o', size=32, progress=False)
    with pytest.raises(SadlDataError, match=r"none of the 2 masks; they use 132,41,246 \(#8429F6\) 66.4%, 110,193,228 \(#6EC1E4\) = Road 25.0%, 60,16,152 \(#3C1098\) 8.6%"):
        tile_scenes(tmp_path/'src', tmp_path/'o', size=32, mask_class='building', progress=False)
    r = tile_scenes(tmp_path/'src', tmp_path/'o', size=32, class_colour=BLD, drop_empty=True, progress=False)
    assert (r['written'], r['label_frac']) == (2, 528 / 1024) and read_mask(tmp_path/'o/label/Tile-1_p_0032_0000.png').sum() == 528
    assert json.loads((tmp_path/'o/tiling.json').read_text())['mask_class']['colour'] == list(BLD)
    r = console('sadl_tile', tmp_path/'src', tmp_path/'c1', '--size', '32', '--class_name', 'Building', '--quiet')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and '--class_colour R,G,B' in r.stderr and not (tmp_path/'c1').exists(), r.stderr
    r = console('sadl_tile', tmp_path/'src', tmp_path/'c1', '--size', '32', '--class_name', 'Building', '--class_colour', '#3C1098', '--quiet')
    assert r.returncode == 0 and "label: class 'Building', colour 60,16,152, 51.6% of the pixels" in r.stdout, r.stdout + r.stderr
    assert len(list((tmp_path/'c1/label').iterdir())) == 2

def test_dubai_aerial_class_colours(tmp_path, shared_data, console):
    "The real Dubai aerial set: its classes.json lists Building as #D0021B, its masks use 60,16,152."
    dubai = shared_data/'dubai_aerial'
    if not dubai.is_dir():
        (pytest.fail if os.environ.get('CI', '').lower() == 'true' else pytest.skip)(f"{dubai} not found")
    lay = detect_layout(dubai)
    assert (lay['cd'], len(lay['scenes'])) == (False, 72) and lay['name'].startswith('folders of images/ and masks/')
    r = console('sadl_tile', dubai, tmp_path/'never', '--size', '64', '--class_name', 'Building', '--quiet')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and not (tmp_path/'never').exists(), r.stderr
    assert "class 'Building' has colour 208,2,27 (#D0021B)" in r.stderr and 'none of the 72 masks' in r.stderr and ', 60,16,152 (#3C1098) 13.3%, ' in r.stderr
    (tmp_path/'src').mkdir(); (tmp_path/'src/Tile 2').symlink_to(dubai/'Tile 2')                 # one tile, linked, not copied
    r = console('sadl_tile', tmp_path/'src', tmp_path/'out', '--size', '64', '--class_colour', '60,16,152', '--quiet')
    assert r.returncode == 0, r.stderr
    labels = sorted((tmp_path/'out/label').iterdir())
    assert len(labels) > 100 and len(list((tmp_path/'out/A').iterdir())) == len(labels) and (tmp_path/'out/list/train.txt').is_file()
    assert all(read_mask(p).any() for p in labels[::10])                                            # building-free patches dropped

def test_dubai_held_out_by_tile(tmp_path, console):
    "Pre-training patches from Tile 1..6 (Tile 6 as val) and probe patches from Tile 7 (train) and Tile 8 (val) of the real Dubai set, at a quarter of the resolution: no tile in two places. Fails, not skips, without the data."
    dubai = Path(os.environ.get('SADL_SHARED_DATA', Path(__file__).resolve().parents[2]/'shared'/'data'))/'dubai_aerial'
    assert dubai.is_dir(), f"{dubai} not found: put shared/data beside the repo or set SADL_SHARED_DATA"
    r = console('sadl_tile', dubai, tmp_path/'pre', '--size', '64', '--class_colour', '60,16,152', '--scenes', 'Tile [1-6]',
                '--val_scenes', 'Tile 6', '--downsample', '4', '--quiet')
    assert r.returncode == 0 and '54 scene(s) downsampled x4 -> ' in r.stdout and 'split by the scenes given' in r.stdout, r.stdout + r.stderr
    s = tile_scenes(dubai, tmp_path/'probe', size=64, class_colour='60,16,152', scenes=['Tile 7', 'Tile 8'], split_scenes={'val': 'Tile 8'},
                    downsample=4, progress=False)
    assert (s['scenes'], s['split_by'], s['downsample']) == (18, 'given', 4) and min(s['splits'].values()) > 20, s
    tiles = lambda d, sp: {n.split('_')[0] for n in (tmp_path/d/'list'/f'{sp}.txt').read_text().split()}
    assert tiles('pre', 'train') == {f'Tile-{k}' for k in range(1, 6)} and tiles('pre', 'val') == {'Tile-6'}
    assert (tiles('probe', 'train'), tiles('probe', 'val')) == ({'Tile-7'}, {'Tile-8'})
    assert not {p.name for p in (tmp_path/'pre/A').iterdir()} & {p.name for p in (tmp_path/'probe/A').iterdir()}
    img, msk = read_image(dubai/'Tile 8/images/image_part_001.jpg'), read_mask(dubai/'Tile 8/masks/image_part_001.png', colour='60,16,152')
    mean = img[:256, 256:512].reshape(64, 4, 64, 4, 3).mean((1, 3))                  # the patch at (0, 64) of the quarter-size scene
    assert np.abs(read_image(tmp_path/'probe/A/Tile-8_image_part_001_0000_0064.png') - mean).max() <= 0.5
    major = msk[:256, 256:512].reshape(64, 4, 64, 4).mean((1, 3)) >= 0.5
    assert np.array_equal(read_mask(tmp_path/'probe/label/Tile-8_image_part_001_0000_0064.png'), major)
