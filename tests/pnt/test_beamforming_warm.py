"""DSTA warm starts (within a satellite's threshold search) against the cold reference path,
and the fast feasibility test's recovery from a stale warm start."""

from __future__ import annotations

import numpy as np
import pytest

from twin.pnt import beamforming as bf
from twin.pnt import feasibility as fz
from twin.pnt.channel import PntParams, channels, pnt_body_frames

PARAMS = PntParams()
P_W = PARAMS.power_w
NOISE_W = PARAMS.noise_w
R_E = 6371e3


def drop(seed, I=4, C=9, nx=8, spacing_m=75e3, i_tdoa=3):
    """C UTs on a 3 x 3 grid (spacing_m, ±10 km jitter) under I satellites at 600 km, each UT
    scheduled on i_tdoa random satellites. Returns H, delta, ut, sats, ref."""
    rng = np.random.default_rng(seed)
    grid = (
        np.array([(e, n) for n in range(-1, 2) for e in range(-1, 2)], dtype=float)[:C] * spacing_m
    )
    ut = np.stack(
        [
            np.full(C, R_E),
            grid[:, 0] + rng.uniform(-1e4, 1e4, C),
            grid[:, 1] + rng.uniform(-1e4, 1e4, C),
        ],
        1,
    )
    ut = R_E * ut / np.linalg.norm(ut, axis=1, keepdims=True)
    rs = R_E + PARAMS.altitude_m
    ang, off = rng.uniform(0, 2 * np.pi, I), rng.uniform(50e3, 300e3, I)
    sats = np.stack([np.full(I, rs), off * np.cos(ang), off * np.sin(ang)], axis=1)
    sats = rs * sats / np.linalg.norm(sats, axis=1, keepdims=True)
    H = channels(
        sats,
        ut,
        pnt_body_frames(sats),
        freq_hz=PARAMS.freq_hz,
        nx=nx,
        ny=nx,
        element_gain_dbi=5.5,
        rng=rng,
    )
    delta = np.zeros((I, C), dtype=bool)
    for c in range(C):
        delta[rng.choice(I, size=i_tdoa, replace=False), c] = True
    return H, delta, ut, sats, np.array([rs, 0.0, 0.0])


def run(H, delta, ut, sats, ref, **kw):
    before = fz.STATS.iterations
    res = bf.dsta(
        H,
        delta,
        ut,
        sats,
        ref,
        power_w=P_W,
        noise_w=NOISE_W,
        bandwidth_hz=PARAMS.bandwidth_hz,
        ref_var=PARAMS.ref_toa_var_s2,
        **kw,
    )
    return res, fz.STATS.iterations - before


def test_dsta_warm_start_reaches_the_cold_result_in_fewer_iterations():
    """Warm and cold (every test from zero forcing, μ = 1) DSTA run the same tests, reach the
    same thresholds and SINRs (within the fast method's FEAS_RTOL band), meet the power cap;
    the warm path needs fewer fixed-point iterations."""
    it_warm = it_cold = 0
    for seed in range(3):
        H, delta, ut, sats, ref = drop(seed)
        warm, n_warm = run(H, delta, ut, sats, ref)
        cold, n_cold = run(H, delta, ut, sats, ref, warm_start=False)
        it_warm, it_cold = it_warm + n_warm, it_cold + n_cold
        assert np.array_equal(warm.n_tests, cold.n_tests)
        assert list(warm.status) == list(cold.status)
        assert np.allclose(warm.sinr[delta], cold.sinr[delta], rtol=2 * fz.FEAS_RTOL)
        assert np.all(np.sum(np.abs(warm.W) ** 2, axis=2) <= P_W * (1 + 1e-9))
    print(f"DSTA fixed-point iterations on 3 drops: warm {it_warm}, cold {it_cold}")
    assert it_warm < it_cold


def _near_boundary_instance(seed, K=9, nx=8):
    """Normalised reduced channels of K clustered UTs and weights w; returns (Hn, w, t*)
    with t* the largest feasible common scale of γ = t·w (SOCP bisection to 1e-4)."""
    H, _, _, _, _ = drop(seed, I=1, C=9, nx=nx, i_tdoa=1)
    rng = np.random.default_rng(100 + seed)
    H = H[0, :K]
    _, Hr = fz.reduce_channels(H)
    Hn = Hr * np.sqrt(P_W / NOISE_W)
    w = rng.uniform(0.5, 1.0, size=len(Hn)) * np.sum(np.abs(Hn) ** 2, axis=1)
    lo, hi = 1e-4, 1.0
    while hi / lo > 1 + 1e-4:
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if fz.socp_reduced(Hn, mid * w)[0] else (lo, mid)
    return Hn, w, lo


@pytest.mark.parametrize("seed", [0, 1])
def test_stale_warm_start_recovers_within_the_iteration_budget(seed):
    """A warm state whose dual weights come from other thresholds (one beam's weight decayed to
    1e-12 of the others) must not push a feasible, just-inside-the-boundary test to the SOCP
    fallback: the verdict equals the SOCP's, SINR = γ within FEAS_RTOL, ‖x‖² ≤ 1."""
    Hn, w, t = _near_boundary_instance(seed)
    ok0, _, state, _ = fz.fast_reduced(Hn, 0.5 * t * w)  # a solution far inside: its V, μ
    assert ok0
    mu = state.mu.copy()
    mu[np.argmax(w)] = 1e-12 * mu.max()
    stale = fz.FastState(state.V, mu * len(mu) / mu.sum())
    for f in (0.995, 1.005):
        gamma = f * t * w
        ok, X, _, n = fz.fast_reduced(Hn, gamma, stale)
        assert ok is not None and n < fz.FAST_MAX_ITER, (f, n)
        assert ok == fz.socp_reduced(Hn, gamma)[0] == (f < 1)
        if ok:
            assert np.allclose(fz.normalised_sinr(Hn, X), gamma, rtol=fz.FEAS_RTOL)
            assert np.all(np.sum(np.abs(X) ** 2, axis=0) <= 1 + 1e-9)


# One fast test from the Starlink replay (scenarios/starlink-replay.toml with DSTA, epoch 1,
# a 12-beam satellite mid-way through its threshold raises): normalised reduced channels Hn
# (12, 12), thresholds gamma (12,) and the warm state (V, mu) DSTA handed over from the
# previous feasible test. zlib-compressed .npz, base64.
_REPLAY_WARM_CASE = (
    "eNrNWHk4lV/XJrOUNJAxpSKln6HZ6SzN0UAhU4kQyTxmyDwUhchUoZPpGDKETIeFlCEKISmRozJL9aNIffU6j++t972+67u+75/3"
    "Odc569p7P/tZ+77XWnvf51E7xMIqwzR7rWQamFaAH4yLnWkp00GrjVY2LsxMi5i8uGbvIWzEUc0jajrMTE5MbpLGJvZGdpI7xCVJ"
    "RnJbJDeIS561tnOwM7Q6bW1nbPJrYL+hhb3Jz357M0Mbk59tKTn5DeJy8us2iF8U/79d3J9011leFOZTIkXFlhR/O01iQGAqrOMZ"
    "0jh+kSRlfNZ9rXrknE2MfpFZSb1Duiv76VDwTCpJ7LvL8bb+XBoxLj/jKfwh9QZp9nnZtNn7Ammz/UHEc2izz79KczDa77tqxo1W"
    "XU/r0VWPYIwXzNnZ53iSDOSW7AtVp/yxHn/auQ65QJabI9jgOop/pz+CYypPT67R5lOa9WdOI+aN17N2v6QS8x1phA2qqx5+9s2D"
    "xsBFm/WXwLDZDDyutI5vY2Kj3+IY/dYELpKP8cQFqe+5c7h/X18Bo7+EaDN4KGH49yfZuYyT+Nv6wHjAYP6+6Qz8xOOczK76Cc+V"
    "9Za4n6jAbOElZ4sPEnhKGHwkMCySime0+O2pkQT/DLy5c/zM8nx3Ll6EJdbLIed78Co1iYgrjVjn73FIJviY8/NuJmHp55kIGmUc"
    "0wqXdwJH6B7KeYk6UBZtVdnu7YsCsqTLC4bdsWL9aYkvTu9wmeTOVx5unfhl9esz8ry8SrP+fGiz/v1o00ZiHskzUX/kkTnDL9Ke"
    "GLV7rqYWzeWncrRyDs5E0hYb754xkYoieGHEJZX2O0+hDN7TGfYGja/+1vsTM5dpj9kTWbzVWtDXtl6/xvg99if3mo2IP0QPU0HT"
    "9jPDuIjTfO2xkCyc0U7kqqTW4bmNjinz/N+COP+6qm1MfaC6XfLhefP5Sp2yiio86lFz8Wf4JRE4zes39GlTAwjeSLNxiWPkXTgt"
    "41uquGVqNtEm6oeI4xwORjwY/KST/KKrbRTFG4FdyanuDf8gKrO1VWNWMdILbG0vtdXBSS2bV+an7+NimwOr5QWeQNfNliA9uULY"
    "Mm2p0UjqgdMVvDVcuY+xrF56kVtHNW7foVum5Luooq9OY6AtNYM2a0tJs3WaMcfr73V8l/RH/c/lC1H3v9d7MInIU+DktokVbAC+"
    "hd/b9aPf4qbSRrFHlg+gVZ/cHXm7GZ9VZLSpR+fjtw3ue42ca+GqV1aA7d40ENETFr9u8BwyVu8/9V3mPX7ibz1xmJuOB4rsvGyD"
    "CyFH8MfyvM/WwDGV6BR3l7OCyHd1WSPVy8dvMtbnObc/EbwSOAneiX6iTeAg8HqbR18qE36K74JbBRwG+oAie6FFV7sIJ49wFS5d"
    "XA1NvsonuuIpMNVyUlu9+B5u4g/qPR2egimS0ptD1V5jZKff9navQRBc9sbv8t33kHCAafeKddX4/IGyaoJYMNruOGszwtKLzWs8"
    "HfRHo7H/HLJP6HApeclmHOGmXp7Lm1yVi7YfF1wnwfe/+CaoOaQPUcV5Zcdj/9iXCDyb5+JlvfHJj4XUKsybzNeo9KOhdNn6+zVV"
    "T3GBRQRVsaYZ2+QiKqTj8vHrrh+9h7Lv4bu4ZTvf9nogRZ0j43KADlqPHfB9O78MDwlEWH++lQsS9e6NZfyeEOaeWGhqHYFMkt29"
    "KtKBcKdGdcTH5TbauaJlWG0lHvtKXX9TsAsW83NvMnZfqETkCVEPszhuM/KrjKhr4jyYOz9Wc0zaflX1hsdZBzazkoswpFPJeKjT"
    "C/L3z/ss5huH5vcoNym3qWAysEY0OrEZLQKVHguFN4Cy//rjgd96QUmPvoUnMA0tdvq+NbGKxbbae97rn76A7vt/x8yI5aF2p6i/"
    "EK0JCl3C+HYXZuFkx86pZ/uqge3xcr/MjSk4Gpp2Um34Mdod6Hk1LdCO98K83xWHEedpwly9O8ttrVb1yCHwMfKslBSUfO2Obqgh"
    "ngroEs1/UIOJ0cxfPCLCoDaWZjpfoBCvffzLluNEONZGC5R3ZT+FloMWi/UyvED5hIc/PAkDx7Tv73Uu+OBf5q5NtR/OY3XoPpfk"
    "qbcovKePGnCnDhQqNbSr7D1QKfhWSWGMMXSKrbOSbUwAmeEXG5U9LmHs3Svi1eGPUWbDAv++W81YsWrHUKJPC2qqwubT9Dhg6+6c"
    "+vJtUQWxrxL1TeTPh1TcMrq4FbeZ7eVnlnwBdFF+0op4xMwrJq5HF5cCf5Ipr2JSOW4Td+8o2FQB3GE9bp4D8XBoEdczy/cVuPPD"
    "1t5juU+Bw1nIcZ75S2jaYPyZ/opVyWsvT/y7gnEIWPToCYdLLp6V2TAWteMG7ozxDN7d24VJy3Ik/JMeoMyuUJ0NDgZoLBtZZutV"
    "BE5JzbdX3HqIrvsH9HhiachRc6nb48gzaHp94cmSK0/BJFTCw/08W8VsXPJoar/ptkvzijQJ3cb1U7eZGlpaGhLSrYdxG2H/vXQ7"
    "u+1/q9z+H7LtH9LN/0C8X9j9lUr/3q5T+p/HCSvDsGv+Zfx3al5I0FYS1LD9pObEf6qitakqkHs5OQh8PHyNR9Kv0l6vLjfqKg7G"
    "sWRh7rAdJqjqu9sqVlsPNHmHJ31PrQLBhqMcEqF3YO9dyX05PdfwdsZ2VXpuBE6HHx6UlkoDfoe9Gm5aFLj0zOeQMh9C4Vueu/1N"
    "3uDeckZjwuAmGHR9eVwvfh1TZk5vKuDNwK2bvwQ5+ckhWi+NYK2RhoanMq1xK1vI1xdwikQYccHJZGfDtBLJ8kjB+Gz/hWHkqJtT"
    "9CfW+/H2cIp8v8hhDEx9KIQvK6BdViG4sSkWO/qd1QSOjgChfC4yl5Yn+zrjirpIC8e3e2C7nPLrNyqR4CB9PvZueCjyp+5M8fcL"
    "xcDCra3f1hcAZk4Ufn9BxbYT94QDfhShy6oKg3C+MLif+l1YRSoOYnbEft3YG4e1vZ2PJ+9QMXvdZxsJNj0MLlYUrQN9sOi4H97U"
    "TScbCubNKJxlBpbJhpHnf2uXi9HJX8zPeJf7h2bnXmzNxyOaTvTKtlzcPJF8Kn48BLetCvLlrdUA2fEYlovrHkGVwEGd0IpwOKln"
    "pstbMTqHx/T5nVFKajnq2AduusZ3DzwVuorMz6lAZbcrvJY5i8o2Ps+7DFLxauvHTw62iNLmdtmXWkNwQuRD8ie1O/hGk6fCzdwf"
    "xERCZ2oroyBUZLBft9oSIy07iuSmzeHH/JnWVRQ6uXDESV1bjAdqNHOEGu0zy8UVpQ5QI/vLNy6ztF3Vko9sa3ttl7Dfx7YW1QRJ"
    "m3zU7wq6OD8nEfdc8zSTc6YAV+65hK9vY+GbrNboE/5HIJjpzyLBXQLFrKJ7O6pGQDJaPFFKPIV0et9K3aDU68C73CnPUD4C884/"
    "KPybMwKOWNzP2pJagupsljOO602Aia5tsigqAmuu+R0662eKhy6i/83IBBjMTNT+mHoMNSnpK+kbZcDbdYhGfTBC3q5luSSyhgXH"
    "XNinNm+6RxZhv12hpltVrjZdodaeEYAqUn83hzym4uID6WGk9nw4+iaSPyauHiDD85yzTDLsFx5gzrZvAK91Ee/IUuqwINSOfIzf"
    "BuIFUwWpig+Q/8LmZJmeSuxotmU2YB0BO7WgSwMv00jagzbnSYFRUJfUc8Ph7zAUCRvf/ernyeqcfO5HIDkGXnApq1UsyAbOff1f"
    "95RnIDt9onWP4h70Ozk8kX98KxY2C/vbD7PjXgp/j1r7BHnPwYKGdJ14slrrMt6qzwHlzyuxuqQ0A95+pZntmilELal9XwUt0uHg"
    "1b4n/ek1eECcW/mlZwwK3uMJ6UyigpSmkZGVeRz6fwhNXl6bB1+fcsrPv3QduO5oucUhDa4cVq7acyoJFS6Xj3VT43HRy0cJwUHv"
    "MJxW3LtRjkrTXGvh1dkdALQGSsDT+YDRI5Vh0eQIHI7YfESCrgPuxTLzNSzXYjXPekVDbhLyb2psl9o+Qi6Vl8j1SHlIFvbcvrT+"
    "QQ55TdZL66SrEWSLMqNKIZ98mHpasLTNjIIxaw0UC07lg1rfEem1h59iIp1rxbBMDmScPpBWqleG85ZB99BNCmbViaxWHc6HXc4s"
    "W7qHwiBzp6hjmir+VMKjlP1m1XheZOfF4w8qcF/N/Uyu5RHI7NMtojSojDbhD2NVg8eQqJ/V1i0rVZ7nITlp0FlBzxxsvIvQQHW6"
    "PKdhIG6VxRI8y+sqoZ+yBIpGnwV5cH4kL5i/rzZXNJM8ZX74xBbWCPKY0MVz9JNx6Mjc6vWeKwByBZ5lHBinQc8z+eISh2d4pnFN"
    "TP1QLpD0UpsvXylDp+f2QeNZCRjCTC83b8uBV/tvnatOj4BhjVsmr8/VwzffybCxvEbkUOfsUrtcj5vlNOL0dxVicI9jh+ZBT7Qp"
    "fy3ar1iFZSndkyXbLuDBa1cVaTJjMKQ70D5QXkBDnQ/KZG8pjFJl80ng2YsveM/OfEzkhjWPnmhqrR0hOyiEkNlnbpGVp0Oz49UD"
    "yOFe0ZYi1ZVYcGSQ+kk3FTq1+SRC5gUAy/thx0stXiCZwx3EfysZXGPDFbfIUWHXAqZukcwYkDaU7Zh3Kgo8TtZk9a33hVBR616R"
    "nNPQKj55hO+7Dx4PXKZxkdMZvr4rNzNU9wbJil1NV9Mi8bIvc4q07TnsODGlxb3cBzBQcYPN0mtAlzRTePkxA6uSORw+TY5BqvFz"
    "GapLIE0nZ9mg8QVp9CHdNSkY3wRD1+t2ZZBelzsJv6I7q9HJ/izJJVaD+5GjlOY7xEvBhQ7TwX85H0Zu/Ss7eUd9wUQ2+V6shS3m"
    "qDanyfuEQLzj8QiTd4YYyOKSuCrpMqj5rmkK6TFAL65C7jNWTnjKus7ESz4QdmlFiAiJOMMVEde1r37uCwsVFjX06PvAK/2S0PBC"
    "d6A3NrcW6epibcMDwyValzDI+eiXHxRz4JSLDgwyDAMDk14XieFYOMbpVanyfmxuv+605FKYHlZAwRXppVv5mfDBqWk4lpOFFsLm"
    "iWZHk6CgjJ+cyiyO9uYTYW5p/iimP1DyLtoeSj+YXZlSuYkxjfo3+rLUYRMbvWyQ+Rr6OG/lE+2Wh8VbqyPi2PeAr0MUPYcWiSD0"
    "/O1XGy90E+pweqtVCE3vy7u7tt9EvxdOE85kdzSeYhUzFDICyvg0ReZYFKy8uroOZL1RIEbgeoqGFYLmcZe60/YYdv37Xy+4/bGY"
    "Yq0zb0YN9pQtJOelj+E6eMji851n5/GHKawtVqUQQpnSbzO/j5NDDz0aN6di59pj1TNL78JyB+k8ilAV3qpa1u7KhLDVsYdln18B"
    "aovOT/aqug/73aIfuYkdg+k3ZzbyFNuhmKVI82eOfPjRRMrNVK8EvkflD/0V6Wg6k+Qbo96EZNa+3JNLqDDlPCr0gy8cgnvW7DQN"
    "eoChVsabpHPSsHnIlHe6eB8G6uXdIcnchisJ/qHvzuegpqnU3mOlybgiSTRJ9hINJQYMoqrUClHpdehKbdtRjD+b8G3epnt/KNol"
    "1i9S/vlNpKXjf6qcTRb08489kQ/RIwJv3qxKhkeNhTTHel84Pr64XQuqYNcSrgXaP/dHgTPrtbpMlihdCdHadqg6D77fyIg+c6QW"
    "3o+sOlhADoDE13FOy7fuAo2MraZDaz/92hbZFfsFf8pZ5nkyLL+/o/2lWX992Zn++/Ji/vU7+8b2zzm//h/0MDjj+m1O0c/m3L+F"
    "P6f90s6EK7bfpj3jZppV0n9O+RU3wtPvqwtaysSIotohtn8Msf78tPy0d5b9av0XUg5Enw=="
)


def _replay_case():
    import base64
    import io
    import zlib

    data = np.load(io.BytesIO(zlib.decompress(base64.b64decode("".join(_REPLAY_WARM_CASE)))))
    return data["Hn"], data["gamma"], fz.FastState(data["V"], data["mu"])


def test_replay_warm_start_with_stale_dual_weights_is_restarted(monkeypatch):
    """With the carried-over dual weights alone the fixed point needs > 150 iterations on this
    replay case at 0.997 γ (feasible, outside the tolerance band); the restart from the warm
    directions with μ = 1 after WARM_PATIENCE iterations decides it in < 100. Verdict = SOCP's."""
    Hn, gamma, state = _replay_case()
    g = 0.997 * gamma
    ok, X, _, n = fz.fast_reduced(Hn, g, state)
    assert ok and fz.socp_reduced(Hn, g)[0]
    assert n < 100
    assert np.allclose(fz.normalised_sinr(Hn, X), g, rtol=fz.FEAS_RTOL)
    assert np.all(np.sum(np.abs(X) ** 2, axis=0) <= 1 + 1e-9)
    monkeypatch.setattr(fz, "WARM_PATIENCE", 10**9)
    ok_slow, _, _, n_slow = fz.fast_reduced(Hn, g, state, max_iter=2000)
    print(f"replay case: {n} iterations with the restart, {n_slow} without")
    assert ok_slow and n_slow > 150
