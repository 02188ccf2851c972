"Backbone import/export contract of sadl.model (the CD network and torchvision rely on it)."
import pytest, torch
from torchvision.models import resnet18
from sadl.model import ResNetFPN, SaDLModel, load_backbone, export_backbone, backbone_state_dict
from sadl.tiling import SadlDataError

torch.set_num_threads(1)

def test_encoder_shape_and_keys():
    enc = ResNetFPN(out_channels=16).eval()
    with torch.no_grad(): assert enc(torch.randn(1, 3, 64, 64)).shape == (1, 16, 16, 16)
    assert list(enc.backbone.state_dict()) == [k for k in resnet18().state_dict() if not k.startswith('fc.')]

def test_export_loads_into_torchvision(tmp_path):
    m = SaDLModel('masked', channels=8, proj_hidden=8, proj_dim=8, pred_hidden=4)
    f = export_backbone(m, tmp_path/'bb.pth')
    tv = resnet18()
    res = tv.load_state_dict(torch.load(f), strict=False)
    assert sorted(res.missing_keys) == ['fc.bias', 'fc.weight'] and res.unexpected_keys == []
    assert torch.equal(tv.layer4[1].bn2.running_var, m.encoder.backbone.layer4[1].bn2.running_var)

@pytest.mark.parametrize('wrap', ['plain', 'state_dict', 'model', 'module', 'backbone', 'full_model'])
def test_load_variants(tmp_path, wrap):
    src = resnet18(); sd = src.state_dict()
    obj = {'plain': sd, 'state_dict': {'state_dict': sd}, 'model': {'model': sd, 'epoch': 1},
           'module': {'module.'+k: v for k, v in sd.items()}, 'backbone': {'backbone.'+k: v for k, v in sd.items()},
           'full_model': {'state_dict': SaDLModel('masked', channels=8, proj_hidden=8, proj_dim=8, pred_hidden=4).state_dict()}}[wrap]
    torch.save(obj, tmp_path/'w.pth')
    enc = ResNetFPN(out_channels=8)
    ignored = load_backbone(enc, tmp_path/'w.pth')
    ref = backbone_state_dict(src) if wrap != 'full_model' else {k[len('encoder.backbone.'):]: v for k, v in obj['state_dict'].items() if k.startswith('encoder.backbone.')}
    assert all(torch.equal(v, ref[k]) for k, v in backbone_state_dict(enc).items())
    assert ignored == ([] if wrap == 'full_model' else ['fc.weight', 'fc.bias'])

def test_bad_files(tmp_path):
    enc = ResNetFPN(out_channels=8)
    with pytest.raises(FileNotFoundError, match='nope.pth'): load_backbone(enc, tmp_path/'nope.pth')
    (tmp_path/'junk.pth').write_bytes(b'\x00junk')
    with pytest.raises(SadlDataError, match='junk.pth'): load_backbone(enc, tmp_path/'junk.pth')
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path/'lin.pth')
    with pytest.raises(SadlDataError, match='lin.pth'): load_backbone(enc, tmp_path/'lin.pth')

def test_narrow_backbone_round_trip(tmp_path):
    "A width-32 SaDL backbone file builds width-32 CD and analysis networks without being told the width."
    from sadl.model import backbone_width, export_backbone
    from sadl.cd import CDNet
    enc = ResNetFPN(out_channels=8, width=32)
    f = export_backbone(enc, tmp_path/'bb.pth')
    assert backbone_width(f) == 32
    net = CDNet(channels=8, pretrained=f)
    assert net.width == 32 and torch.equal(net.encoder.backbone.layer4[1].conv2.weight, enc.backbone.layer4[1].conv2.weight)
    with pytest.raises(SadlDataError, match='width=32'): CDNet(channels=8, pretrained=f, width=64)
