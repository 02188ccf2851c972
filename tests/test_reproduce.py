"Data preparation and configuration handling of `sadl_reproduce` (the full grid runs in `make demo`)."
import dataclasses, subprocess, sys
from pathlib import Path
import pytest
from sadl.reproduce import PRESETS, METHODS, prepare_data, run_key, reproduce
from sadl.data import SegPatches, CDPatches
from sadl.tiling import SadlDataError

def _tiny_small():
    p = dataclasses.replace(PRESETS['small'])
    p.seg, p.cd = dict(synth=8, size=128, real=True), dict(synth=8, size=128, real=True)
    return p

def test_small_data_mixes_synthetic_and_real(tmp_path, shared_data):
    d = prepare_data(_tiny_small(), tmp_path, progress=False)
    seg = SegPatches(d['seg'], split=None, progress=False)
    cd = CDPatches(d['cd'], split=None, progress=False)
    # 8 synthetic + 8 Inria patches cut into 4 each; 8 synthetic + (11 LEVIR + 10 DSIFN) x 4
    assert len(seg) == 8 + 8*4 and seg.images.shape[-1] == 128
    assert len(cd) == 8 + 21*4 and cd.a.shape[-1] == 128
    assert any(n.startswith('levir_') for n in cd.names) and any(n.startswith('dsifn_') for n in cd.names)
    # nothing of the real samples is copied: the combined folder links to files outside the repo
    assert all(f.is_symlink() for f in (d['cd']/'A').iterdir())
    # split lists cover every patch exactly once
    lists = [l for s in ('train', 'val', 'test') for l in (d['cd']/'list'/f'{s}.txt').read_text().split()]
    assert sorted(lists) == sorted(cd.names)
    # a second call reuses what is there
    assert prepare_data(_tiny_small(), tmp_path, progress=False) == d

def test_paper_preset_needs_user_data(tmp_path):
    with pytest.raises(SadlDataError, match='--seg DIR'): prepare_data(PRESETS['paper'], tmp_path)
    with pytest.raises(FileNotFoundError, match='no A/ sub-folder'):
        prepare_data(PRESETS['paper'], tmp_path, seg=str(tmp_path), cd=str(tmp_path))

def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'huge'"): reproduce('huge', out=tmp_path)
    with pytest.raises(ValueError, match="unknown method 'nope'"): reproduce('tiny', out=tmp_path, methods=['nope'])
    with pytest.raises(FileNotFoundError, match='imagenet.pth'): reproduce('tiny', out=tmp_path, imagenet=str(tmp_path/'imagenet.pth'))

def test_run_keys_follow_configuration():
    assert run_key({'epochs': 1, 'frac': 0.2}) == run_key({'frac': 0.2, 'epochs': 1})
    assert run_key({'epochs': 1}) != run_key({'epochs': 2})
    assert set(PRESETS['tiny'].methods) <= set(METHODS)

def test_cli_help(console):
    out = console('sadl_reproduce', '--help').stdout
    assert '--preset' in out and '--imagenet' in out
