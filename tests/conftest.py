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
