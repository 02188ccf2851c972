"""Shared fixtures. Real samples live in ../shared/data (never copied into the repo);
under CI (CI=true) a test that needs them fails when they are missing, elsewhere it skips."""
import os
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]

def _shared_data() -> Path:
    return Path(os.environ.get('SADL_SHARED_DATA', REPO.parent/'shared'/'data'))

@pytest.fixture(scope='session')
def shared_data() -> Path:
    p = _shared_data()
    if not (p/'inria_samples').is_dir():
        msg = f"real samples not found at {p} (set SADL_SHARED_DATA or put shared/data beside the repo)"
        if os.environ.get('CI', '').lower() == 'true': pytest.fail(msg)
        pytest.skip(msg)
    return p

@pytest.fixture(scope='session')
def console(tmp_path_factory):
    """Run a console script as pip installs it (a file whose `__main__` calls `sadl.cli.<prog>`), with this
    checkout on PYTHONPATH; returns the CompletedProcess (text)."""
    import subprocess, sys
    d = tmp_path_factory.mktemp('console')
    def run(prog, *args):
        f = d/prog
        f.write_text(f"import sys\nfrom sadl.cli import {prog}\nif __name__ == '__main__': sys.exit({prog}())\n")
        env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}
        return subprocess.run([sys.executable, str(f), *map(str, args)], capture_output=True, text=True, env=env)
    return run
