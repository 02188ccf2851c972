"sadl.losses end to end with the model: finite losses, gradient to the encoder, 0 for an all-invalid batch."
import torch
from sadl.model import SaDLModel, class_presence
from sadl.losses import SaDLLoss, collapse_std

torch.set_num_threads(1)

def test_masked_model_loss_backward():
    torch.manual_seed(0)
    net = SaDLModel('masked', channels=8, proj_hidden=16, proj_dim=12, pred_hidden=4)
    v = torch.randn(2, 3, 32, 32); m = torch.zeros(2, 32, 32, dtype=torch.uint8); m[:, 4:12] = 1
    o1, o2, o3 = net(v, m=m), net(v.flip(-1), m=m.flip(-1)), net(v * 0.5, m=m)
    total, parts = SaDLLoss()(o1, o2, o3, class_presence(m))
    total.backward()
    assert torch.isfinite(total) and set(parts) == {'l_sd', 'l_s1', 'l_s2', 'total'}
    assert net.encoder.backbone.conv1.weight.grad.abs().sum() > 0
    assert 0 <= collapse_std(o1['z']) <= 1

def test_all_invalid_is_zero():
    net = SaDLModel('masked', channels=8, proj_hidden=16, proj_dim=12, pred_hidden=4)
    v = torch.randn(2, 3, 32, 32); m = torch.zeros(2, 32, 32, dtype=torch.uint8)
    o = net(v, m=m)
    total, _ = SaDLLoss()(o, o, o, torch.zeros(2, 2, dtype=torch.bool))
    total.backward()
    assert total.item() == 0. and all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
