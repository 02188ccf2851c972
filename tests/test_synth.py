"""Tests of sadl.synth: determinism, labels against the generator's own objects, layouts on disk."""
import subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from matplotlib.path import Path as MplPath
from sadl.synth import synth_scene, synth_cd_pair, make_synthetic, footprint_mask
from sadl.tiling import read_image, read_mask


def _raster(polys, size):
    "Independent rasteriser: pixel (i,j) is in when its centre (j+.5, i+.5) is inside a polygon."
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    pts = np.c_[xx.ravel(), yy.ravel()]
    out = np.zeros(size * size, bool)
    for p in polys: out |= MplPath(p).contains_points(pts)
    return out.reshape(size, size).astype(np.uint8)


def test_same_seed_same_bytes():
    a, b = synth_scene(128, seed=11, index=3), synth_scene(128, seed=11, index=3)
    assert a['image'].tobytes() == b['image'].tobytes() and a['mask'].tobytes() == b['mask'].tobytes()
    p, q = synth_cd_pair(128, seed=11, index=3), synth_cd_pair(128, seed=11, index=3)
    for k in ('a', 'b', 'label'): assert p[k].tobytes() == q[k].tobytes()
    assert synth_scene(128, seed=12, index=3)['image'].tobytes() != a['image'].tobytes()


def test_written_files_identical(tmp_path):
    for d in ('x', 'y'): make_synthetic(tmp_path/d, kind='cd', n=4, size=64, seed=5, progress=False)
    for f in sorted((tmp_path/'x').rglob('*')):
        if f.is_file(): assert f.read_bytes() == (tmp_path/'y'/f.relative_to(tmp_path/'x')).read_bytes(), f


def test_tile_independent_of_n(tmp_path):
    make_synthetic(tmp_path/'a', n=3, size=64, seed=2, progress=False)
    make_synthetic(tmp_path/'b', n=6, size=64, seed=2, progress=False)
    for n in ('A', 'label'):
        f = f'{n}/synth_2_00002.png'
        assert (tmp_path/'a'/f).read_bytes() == (tmp_path/'b'/f).read_bytes()


def test_shapes_dtypes_masks():
    s = synth_scene(96, seed=1)
    assert s['image'].shape == (96, 96, 3) and s['image'].dtype == np.uint8
    assert s['mask'].shape == (96, 96) and s['mask'].dtype == np.uint8 and set(np.unique(s['mask'])) <= {0, 1}
    p = synth_cd_pair(96, seed=1)
    assert p['a'].shape == p['b'].shape == (96, 96, 3) and p['a'].dtype == p['b'].dtype == np.uint8
    assert p['label'].shape == (96, 96) and p['label'].dtype == np.uint8 and set(np.unique(p['label'])) <= {0, 1}


@pytest.mark.parametrize('index', range(8))
def test_seg_mask_is_union_of_footprints(index):
    s = synth_scene(128, seed=4, index=index)
    assert len(s['buildings']) >= 1
    np.testing.assert_array_equal(s['mask'], _raster([b['polygon'] for b in s['buildings']], 128))


def test_change_label_only_built_or_demolished():
    n_change = n_none = 0
    for i in range(16):
        p = synth_cd_pair(128, seed=9, index=i)
        changed = [b['polygon'] for b in p['built'] + p['demolished']]
        np.testing.assert_array_equal(p['label'], _raster(changed, 128))
        # unchanged buildings contribute nothing
        assert (_raster([b['polygon'] for b in p['kept']], 128) & p['label']).sum() == 0
        n_change += bool(changed); n_none += not changed
    assert n_change >= 8      # most pairs have building change


def test_irrelevant_changes_not_labelled():
    # no building change: trees, cars, shadows, colour, season and misregistration all differ, label stays empty
    p = synth_cd_pair(128, seed=3, index=1, p_nochange=1.0)
    assert not p['built'] and not p['demolished'] and p['label'].sum() == 0
    assert np.abs(p['a'].astype(int) - p['b']).mean() > 5
    assert 1 <= np.linalg.norm(p['shift']) <= 2
    assert p['date_a']['sun'] != p['date_b']['sun']
    # the labelled pixels of a changed pair are exactly the changed footprints, whatever else moved
    q = synth_cd_pair(128, seed=3, index=1, p_nochange=0.0)
    assert q['label'].sum() > 0
    np.testing.assert_array_equal(q['label'], footprint_mask([b['polygon'] for b in q['built'] + q['demolished']], 128))


def test_layouts_on_disk(tmp_path):
    root = make_synthetic(tmp_path/'seg', n=5, size=64, seed=0, progress=False)
    assert sorted(p.name for p in root.iterdir()) == ['A', 'label', 'list']
    assert sorted(p.name for p in (root/'list').iterdir()) == ['train.txt', 'val.txt']
    names = sorted((root/'list'/'train.txt').read_text().split() + (root/'list'/'val.txt').read_text().split())
    assert names == [f'synth_0_{i:05d}' for i in range(5)]
    s = synth_scene(64, 0, 3)
    np.testing.assert_array_equal(read_image(root/'A'/'synth_0_00003.png'), s['image'])
    np.testing.assert_array_equal(read_mask(root/'label'/'synth_0_00003.png'), s['mask'])
    root = make_synthetic(tmp_path/'cd', kind='cd', n=10, size=64, seed=0, progress=False)
    assert sorted(p.name for p in root.iterdir()) == ['A', 'B', 'label', 'list']
    assert sorted(p.name for p in (root/'list').iterdir()) == ['test.txt', 'train.txt', 'val.txt']


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="kind='x'"): make_synthetic(tmp_path, kind='x')
    with pytest.raises(ValueError, match='n=0'): make_synthetic(tmp_path, n=0)
    with pytest.raises(ValueError, match='size=4'): synth_cd_pair(4)


def test_cli(tmp_path, console):
    r = console('sadl_synth', '--kind', 'cd', '--n', '3', '--size', '64', '--seed', '2', '--out', tmp_path/'d')
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path/'d'/'label').glob('*.png'))) == 3
    assert (tmp_path/'d'/'list'/'test.txt').exists()
