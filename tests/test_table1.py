"""Table I end to end: `reproduce` with all nine rows (random, ImageNet from a state-dict file made here,
in-domain supervised, SimSiam, MoCo-v2, DenseCL, CMC, SeCo, SaDL) on tiny synthetic folders, one epoch each."""
import pandas as pd, pytest, torch, torchvision
from sadl.synth import synth_scene, make_synthetic
from sadl.tiling import save_cd_sample, write_splits
from sadl.reproduce import reproduce, TABLE1
from sadl.analysis import INIT_NAMES

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    d = tmp_path_factory.mktemp('table1')
    names = []
    for i in range(8):   # pre-training patches with building masks and a second date (B/) for SeCo
        s = synth_scene(32, 5, i)
        save_cd_sample(d/'seg', f'p{i}', s['image'], s['image'][:, ::-1].copy(), s['mask'])
        names.append(f'p{i}')
    write_splits(d/'seg', names, {'train': 0.75, 'val': 0.25})
    cd = make_synthetic(d/'cd', 'cd', n=10, size=32, seed=0, progress=False, splits={'train': 0.6, 'val': 0.2, 'test': 0.2})
    imagenet = d/'imagenet_standin.pth'   # a torchvision ResNet-18 state dict (random weights: no downloads)
    torch.save(torchvision.models.resnet18().state_dict(), imagenet)
    return d/'seg', cd, imagenet

def test_all_nine_rows(folders, tmp_path):
    seg, cd, imagenet = folders
    df = reproduce('tiny', out=tmp_path/'out', seg=seg, cd=cd, imagenet=imagenet, methods=list(TABLE1),
                   fracs=[1.0], seeds=[0], pretrain_epochs=1, finetune_epochs=1, progress=False)
    assert sorted(df.init) == sorted(TABLE1)
    t = pd.read_csv(tmp_path/'out'/'table1.csv', header=[0, 1], index_col=0)
    assert list(t.index) == [INIT_NAMES[m] for m in TABLE1]     # the paper's order, display names
    for m in TABLE1[2:]: assert (tmp_path/'out'/'pretrain'/m/'backbone.pth').is_file()
    assert not (tmp_path/'out'/'pretrain'/'random').exists() and not (tmp_path/'out'/'pretrain'/'imagenet').exists()
