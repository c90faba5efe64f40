"""The research notebooks run top to bottom on a real kernel, on small data, so they never rot.

Each notebook runs with nbclient in notebooks/ (as JupyterLab runs it), with
GRADTRADE_NOTEBOOK_QUICK=1 (a few months of the recorded BTC/USDT 1h candles, one epoch) and
its outputs in a temporary folder. A cell that raises fails the test with the cell's traceback.
The order matters: notebook 4 backtests the checkpoint notebook 3 trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO_ROOT / "notebooks"
ORDER = [
    "01_data.ipynb",
    "02_state_features.ipynb",
    "03_train_walk_forward.ipynb",
    "04_backtest_report.ipynb",
]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebooks")


def execute(name: str, out: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GRADTRADE_TEST_DATA", str(data))
    monkeypatch.setenv("GRADTRADE_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("GRADTRADE_NOTEBOOK_OUT", str(out))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def texts(nb: Any) -> str:
    parts: list[str] = []
    for o in outputs(nb):
        parts.append(o.get("text", ""))
        data = o.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/markdown", ""))
    return "\n".join(parts)


def has_figure(nb: Any) -> bool:
    return any(
        "application/vnd.plotly.v1+json" in o.get("data", {})
        or "plotly" in o.get("data", {}).get("text/html", "")
        for o in outputs(nb)
    )


def test_notebooks_are_committed_without_outputs() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == ORDER
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert not outputs(nb), f"{name} is committed with outputs"


def test_data_notebook(out_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute("01_data.ipynb", out_dir, data_dir, monkeypatch)
    text = texts(nb)
    assert "bars, 2025-03-01" in text and "gaps" in text and "rejected: nothing" in text
    assert has_figure(nb)


def test_state_notebook(out_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = execute("02_state_features.ipynb", out_dir, data_dir, monkeypatch)
    text = texts(nb)
    assert "identical to the batch transform" in text and "X_t shape" in text
    assert has_figure(nb)


def test_train_and_walk_forward_notebook(
    out_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("03_train_walk_forward.ipynb", out_dir, data_dir, monkeypatch)
    assert (out_dir / "model" / "best.pt").exists()
    text = texts(nb)
    assert "Out of sample" in text and "2 walk-forward folds" in text


def test_backtest_notebook_shows_the_report_inline(
    out_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = execute("04_backtest_report.ipynb", out_dir, data_dir, monkeypatch)
    text = texts(nb)
    assert "'kind': 'model'" in text, "notebook 4 should backtest notebook 3's checkpoint"
    assert "fills; equity 10000.00 ->" in text
    assert has_figure(nb)
