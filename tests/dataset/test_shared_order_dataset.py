"""StreamingDataset shares each epoch's order per node through the cache's meta directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import DataLoader

from streaming import MDSWriter, StreamingDataset
from streaming.cache.paths import meta_dir
from streaming.ordering import OrderingSettings, Topology, generate_work


@pytest.fixture
def data(tmp_path: Path) -> Path:
    with MDSWriter(out=str(tmp_path / "data"), columns={"id": "int"}, size_limit=200) as w:
        for i in range(300):
            w.write({"id": i})
    return tmp_path / "data"


def test_workers_read_one_shared_order_per_epoch(data: Path) -> None:
    ds = StreamingDataset(local=str(data), batch_size=5, shuffle=True, shuffle_seed=3)
    loader = DataLoader(ds, batch_size=5, num_workers=2)
    sizes = [int(n) for n in ds.samples_per_shard]
    orders = Path(meta_dir(str(data))) / "orders"
    for epoch in range(2):
        seen = [int(i) for batch in loader for i in batch["id"]]
        settings = OrderingSettings(
            shard_sizes=[sizes], choose=[300], proportion=[1.0], batch_size=5,
            num_canonical_nodes=1, shuffle=True, shuffle_seed=3,
        )  # fmt: skip
        work = generate_work("random", settings, Topology(1, 1, 2), epoch)[0, 0]
        expected = [int(i) for i in work.transpose(1, 0, 2).ravel() if i != -1]
        assert seen == expected
        files = sorted(p.name for p in orders.iterdir())
        assert len(files) == 2 and files[0].endswith(f"-e{epoch}-0.lock"), files
        assert files[1].endswith(f"-e{epoch}-0.order")


def test_resume_point_is_part_of_the_key(data: Path) -> None:
    ds = StreamingDataset(local=str(data), batch_size=5, shuffle=True)
    first = [int(s["id"]) for s in ds]
    resumed = StreamingDataset(local=str(data), batch_size=5, shuffle=True)
    resumed.load_state_dict({"epoch": 0, "sample_in_epoch": 100, "num_canonical_nodes": 1,
                             "shuffle_seed": 9176, "initial_physical_nodes": 1})  # fmt: skip
    assert [int(s["id"]) for s in resumed] == first[100:]
    names = sorted(p.name for p in (Path(meta_dir(str(data))) / "orders").glob("*.order"))
    assert [n.rsplit("-", 1)[1] for n in names] == ["0.order", "100.order"]
    assert np.array_equal(np.sort(first), np.arange(300))
