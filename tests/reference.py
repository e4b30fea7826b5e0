"""Independent oracles written in plain Python: slow, obviously correct, exact at any size."""


def textbook_dp_cost(dims):
    """The O(k^3) matrix-chain recurrence over Python ints (no numpy)."""
    k = len(dims) - 1
    best = [[0] * (k + 1) for _ in range(k + 1)]
    for length in range(2, k + 1):
        for lo in range(1, k - length + 2):
            hi = lo + length - 1
            best[lo][hi] = min(
                best[lo][s] + best[s + 1][hi] + dims[lo - 1] * dims[s] * dims[hi]
                for s in range(lo, hi)
            )
    return best[1][k]
