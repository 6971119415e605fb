"""The nearest-neighbour readout (vawgan_tts/knn.py) against a brute-force reference."""

import numpy as np
import pytest
import torch

from vawgan_tts import knn
from vawgan_tts.errors import VawganError


def _reference(queries, keys, values, k):
    """For each query: sort every key by its distance, average the values of the first k."""
    out = []
    for q in queries:
        order = np.argsort(((keys - q) ** 2).sum(1), kind="stable")
        out.append(values[order[:k]].mean(0))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 4, 16])
def test_nearest_mean_is_the_mean_of_the_k_nearest_values(k):
    rng = np.random.default_rng(0)
    keys, values = rng.normal(size=(300, 16)), rng.normal(size=(300, 39))
    queries = rng.normal(size=(50, 16))
    got = knn.nearest_mean(*(torch.from_numpy(a) for a in (queries, keys, values)), k).numpy()
    np.testing.assert_allclose(got, _reference(queries, keys, values, k), atol=1e-10)


def test_nearest_mean_in_chunks_is_the_same_and_k_is_checked(monkeypatch):
    rng = np.random.default_rng(1)
    keys, values, queries = (torch.from_numpy(rng.normal(size=s)) for s in ((100, 8), (100, 3), (70, 8)))
    whole = knn.nearest_mean(queries, keys, values, 4)
    monkeypatch.setattr(knn, "CHUNK", 16)  # 70 queries in five chunks, the last one short
    torch.testing.assert_close(knn.nearest_mean(queries, keys, values, 4), whole)
    assert knn.nearest_mean(queries[:0], keys, values, 4).shape == (0, 3)
    # every key (k = N): the mean of all the values, for every query
    torch.testing.assert_close(knn.nearest_mean(queries, keys, values, 100), values.mean(0).expand(70, 3))
    # a query that is a key gets that key's value back with k = 1
    torch.testing.assert_close(knn.nearest_mean(keys[[5, 9]], keys, values, 1), values[[5, 9]])
    for k in (0, 101):
        with pytest.raises(VawganError, match=f"--knn {k}: choose from 1 to the 100 frames"):
            knn.nearest_mean(queries, keys, values, k)
