"""sadl.cli: numbers checked up front with the option's name, one-line errors with exit status 2, fast --help."""
import subprocess, sys, time, os
import pytest
from conftest import REPO

@pytest.mark.parametrize('prog,args,msg', [
    ('sadl_finetune', ['--data', '.', '--frac', '1.5'], '--frac 1.5: the fraction of training labels must be in (0, 1]'),
    ('sadl_finetune', ['--data', '.', '--bs', '0'], '--bs 0: the batch size must be >= 1'),
    ('sadl_pretrain', ['--data', '.', '--out', 'x', '--frac', '0'], '--frac 0.0: the fraction of patches must be in (0, 1]'),
    ('sadl_tile', ['.', 'x', '--val', '0.7', '--test', '0.5'], '--val 0.7: --val + --test must leave some for train (--test 0.5)'),
    ('sadl_tile', ['.', 'x', '--class_colour', '60,16'], '--class_colour 60,16: give R,G,B (three numbers in 0..255, e.g. 60,16,152) or #RRGGBB'),
    ('sadl_tile', ['.', 'x', '--binarize', '128', '--class_name', 'Building'], '--binarize 128: is for grey masks; give it or --class_name/--class_colour (class-colour masks), not both'),
    ('sadl_predict', ['--model', 'm', '--a', 'a', '--b', 'b', '--overlap', '300'], '--overlap 300: must be in [0, --window 256)'),
    ('sadl_reproduce', ['--finetune_epochs', '0'], '--finetune_epochs 0: must be >= 1'),
    ('sadl_synth', ['--density', '0'], '--density 0.0: must be > 0'),
    ('sadl_figures', ['--dpi', '1'], '--dpi 1: must be in [10, 1200]'),
])
def test_bad_numbers_one_line_exit_2(console, tmp_path, prog, args, msg):
    t0 = time.time(); r = console(prog, *args)
    assert (r.returncode, r.stderr) == (2, f'{prog}: error: {msg}\n')
    assert time.time() - t0 < 20   # no torch import before the check (measured ~0.3 s on an idle machine)

def test_reproduce_unknown_method_before_torch(console):
    "`--methods` is checked against `sadl.registry` (plain Python) before torch is imported."
    t0 = time.time(); r = console('sadl_reproduce', '--methods', 'sadl,nope', '--out', 'never-written')
    assert r.returncode == 2 and r.stderr.startswith("sadl_reproduce: error: --methods sadl,nope: unknown method 'nope'; choose from random, imagenet")
    assert r.stderr.count('\n') == 1 and time.time() - t0 < 20
    r = subprocess.run([sys.executable, '-c', 'import sys, sadl.registry; print("torch" in sys.modules)'],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.stdout.strip() == 'False', r.stdout + r.stderr

def test_pretrain_takes_the_methods_of_reproduce():
    "`sadl_pretrain --method` takes every pre-training method `sadl_reproduce --methods` takes (the registry's), nothing else."
    r = subprocess.run([sys.executable, '-c', 'from fastcore.script import anno_parser; from sadl.cli import sadl_pretrain; from sadl.registry import METHODS; '
                        'a = {x.dest: x for x in anno_parser(sadl_pretrain.__wrapped__)._actions}; print(a["method"].choices == tuple(METHODS))'],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.stdout.strip() == 'True', r.stdout + r.stderr

def test_debug_shows_traceback(console):
    r = console('sadl_finetune', '--data', '.', '--bs', '0', '--debug')
    assert r.returncode == 1 and 'Traceback' in r.stderr and 'ValueError: --bs 0' in r.stderr

def test_cli_module_imports_no_torch():
    r = subprocess.run([sys.executable, '-c', 'import sys, sadl.cli; print(sorted(m for m in ("torch", "fastai", "cv2", "rasterio") if m in sys.modules))'],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(REPO)})
    assert r.stdout.strip() == '[]', r.stdout + r.stderr

@pytest.mark.parametrize('prog', ['sadl_tile', 'sadl_synth', 'sadl_pretrain', 'sadl_finetune', 'sadl_predict', 'sadl_reproduce', 'sadl_figures'])
def test_help(console, prog):
    r = console(prog, '--help')
    assert r.returncode == 0 and '--debug' in r.stdout

_TOY = '''from dataclasses import dataclass
from sadl.config import RunConfig, choice
@dataclass
class Toy(RunConfig):
    n:int=3 # How many at a time
    mode:str=choice('fast', ('fast', 'slow')) # How: `n` at a time
'''

def _toy_help(tmp_path, src, name):
    "`--help` of a command whose options are made from the dataclass `Toy` of `src` (a module: docments reads its comments from the file)."
    cmd = 'from sadl.cli import config_options\n@config_options(Toy)\ndef cmd(data:str=None, # Data folder\n        **options): pass\n'
    (tmp_path/f'{name}.py').write_text(src + cmd)
    code = f"from fastcore.script import anno_parser; from {name} import cmd; print(' '.join(anno_parser(cmd).format_help().split()))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), str(REPO)])})
    assert r.returncode == 0, r.stderr
    return r.stdout

def test_config_fields_are_options(tmp_path):
    "A field's comment, default and choices reach `--help`; a field added to the configuration is a new option."
    h = _toy_help(tmp_path, _TOY, 'toy_a')
    assert '--n N How many at a time (default: 3)' in h and '--mode {fast,slow} How: --n at a time (default: fast)' in h, h
    assert '--rate' not in h
    h = _toy_help(tmp_path, _TOY.replace('    mode:', '    rate:float=0.5 # A field added later\n    mode:'), 'toy_b')
    assert '--rate RATE A field added later (default: 0.5)' in h, h

def test_finetune_options_are_its_config_fields(console):
    "Every field of `FinetuneConfig` is an option of `sadl_finetune` (a flag on by default as --no_NAME), with the field's comment as help."
    from sadl.config import FinetuneConfig
    h = ' '.join(console('sadl_finetune', '--help').stdout.split())
    for k, v in FinetuneConfig().to_dict().items():
        assert (f'--no_{k} ' if v is True else f'--{k} ') in h, k
    assert '--bs BS Batch size (the paper: 8) (default: 8)' in h, h
