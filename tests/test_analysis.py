"""Tests of sadl.analysis: every figure function on a tiny fake runs folder and synthetic patches."""
import subprocess, sys
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np, pandas as pd, pytest, torch
from sadl import analysis as A
from fakes import fake_runs
from sadl.synth import make_synthetic

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp('analysis')
    seg = make_synthetic(d/'seg', 'seg', n=4, size=64, progress=False)
    cd = make_synthetic(d/'cd', 'cd', n=4, size=64, progress=False)
    return fake_runs(d/'runs', inits=('random', 'simsiam', 'sadl'), fracs=(0.05, 1.0), seeds=(0, 1),
                     data={'seg': seg, 'cd': cd})

@pytest.fixture(scope='module')
def patches(runs):
    imgs, masks, src = A.seg_samples(runs, n=2)
    assert src.endswith('seg') and imgs.shape[-1] == 64
    return imgs, masks

def _naxes(fig):
    n = len(fig.axes); plt.close(fig); return n

def test_tables(runs):
    df = A.load_results(runs)
    assert len(df) == 3*2*2 and set(df.init) == {'random', 'simsiam', 'sadl'}
    t = A.results_table(df, fmt='df')
    assert t.shape == (3, 2*4) and t.index.tolist() == ['Random init', 'SimSiam (global)', 'SaDL (full)']
    md = A.results_table(df)
    assert md.startswith('| init | 5% P |') and '±' in md
    assert A.variant_table(df, 'II', fmt='df').index.tolist() == ['SimSiam (global)', 'SaDL (full)']
    assert _naxes(A.plot_f1_vs_fraction(df)) == 1

def test_missing_runs_message(tmp_path):
    with pytest.raises(FileNotFoundError, match='sadl_reproduce --preset tiny'): A.load_results(tmp_path)
    with pytest.raises(FileNotFoundError, match=r'no pre-training runs under .*pretrain'): A.pretrained_backbones(tmp_path)

def test_fig2_fig3(patches):
    imgs, masks = patches
    assert _naxes(A.plot_view_synthesis(imgs, masks)) == 6
    assert _naxes(A.plot_masked_sampling(imgs, masks, n=4)) == 3

def test_fig4(runs):
    models = A.finetuned_models(runs)
    a, b, lab, _ = A.cd_samples(runs, n=2)
    assert A.predict_changes(models['sadl'], a, b).shape == lab.shape
    assert _naxes(A.plot_change_maps(models, a, b, lab)) == 2*(3+3)

def test_fig5(runs):
    h = A.load_histories(runs)
    assert _naxes(A.plot_valid_f1(h)) == 2  # one panel per fraction

def test_self_similarity_sums_to_one(runs, patches):
    imgs, masks = patches
    net = A.load_pretrained(runs/'pretrain'/'sadl'/'backbone.pth')
    with torch.no_grad(): f = A.dense_features(net, A._norm(imgs))
    sm = A.self_similarity(f, torch.stack([A.building_point(m) for m in masks]))
    assert sm.shape == (2, 8, 8)
    torch.testing.assert_close(sm.sum((1, 2)), torch.ones(2))
    assert _naxes(A.plot_self_similarity(A.pretrained_backbones(runs), imgs[0], masks[0])) == 1 + 2

def test_cam_has_image_size(runs, patches):
    imgs, masks = patches
    cam = A.class_activation_map(runs/'pretrain'/'simsiam'/'backbone.pth', imgs, masks)
    assert cam.shape == (2, 64, 64) and cam.min() >= 0 and cam.max() <= 1
    assert _naxes(A.plot_cams(A.pretrained_backbones(runs), imgs, masks)) == 2*(1+2)

def test_sadl_figures_cli(runs, tmp_path, console):
    r = console('sadl_figures', '--runs', tmp_path/'none', '--out', tmp_path/'f0', '--dpi', '30')
    assert (r.returncode, r.stderr) == (2, f"sadl_figures: error: --runs {tmp_path/'none'}: folder not found (make it with sadl_reproduce)\n")
    assert not (tmp_path/'f0').exists()                # a mistyped --runs writes nothing
    (tmp_path/'none').mkdir()                          # a runs folder with no runs yet: Fig. 2-3, and how to make the rest
    r = console('sadl_figures', '--runs', tmp_path/'none', '--out', tmp_path/'f0', '--dpi', '30')
    assert r.returncode == 0, r.stderr
    assert 'Traceback' not in r.stderr and 'run `sadl_reproduce --preset tiny' in r.stdout
    assert sorted(p.name for p in (tmp_path/'f0').iterdir()) == ['fig2_view_synthesis.png', 'fig3_masked_sampling.png']
    done, skipped = A.write_figures(runs, tmp_path/'f1', dpi=30, n=2)
    assert {'fig4_change_maps', 'fig5_valid_f1', 'fig6_self_similarity', 'fig7_cam', 'tables'} <= set(done)
    assert all(p.stat().st_size > 0 for p in done.values())
