"""Logging and progress bars: silent by default, a bar when asked, records on "jacchain"."""

import logging
import sys

import networkx as nx
import numpy as np
import pytest

import jacchain as jc
import jacchain.progress as progress
from jacchain.errors import MethodError, MissingExtraError
from jacchain.graphs.elimination import elimination_graph, exact_order
from jacchain.graphs.graph import graph_spec
from jacchain.graphs.pruned import pruned_exact_order
from jacchain.graphs.search import _ChainModel, _search_bar, search_order

pytest.importorskip("tqdm")

SIZES = [1000, 10, 1000, 10, 1000]


def path_graph():
    G = nx.path_graph(len(SIZES), create_using=nx.DiGraph)
    nx.set_node_attributes(G, dict(enumerate(SIZES)), "size")
    return G


def test_planning_logs_the_chosen_plans_on_the_jacchain_logger(caplog):
    with caplog.at_level(logging.DEBUG, logger="jacchain"):
        jc.plan(SIZES)
        jc.plan_graph(path_graph(), method="exact")
    chosen = [r for r in caplog.records if r.name.startswith("jacchain.") and "chose" in r.message]
    assert [r.name for r in chosen] == ["jacchain.plans.plan", "jacchain.graphs.graph_plan"]
    assert "10,200,000 multiply-adds vs forward 30,000,000" in chosen[0].getMessage()
    assert "exact elimination" in chosen[1].getMessage()


def test_the_library_is_silent_by_default(capsys, caplog):
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("jacchain").handlers)
    assert logging.getLogger("jacchain").level == logging.NOTSET  # the application decides
    with caplog.at_level(logging.WARNING):
        jc.plan(SIZES)
        jc.plan_graph(path_graph(), method="search", time_limit=0.01)
        search_order(_ChainModel(SIZES), {"forward": (1, 2, 3)}, time_limit=0.01)
    assert capsys.readouterr() == ("", "")
    assert caplog.records == []


def test_progress_true_draws_a_bar_for_a_search_with_a_time_limit(capsys):
    result = search_order(_ChainModel(SIZES), {"forward": (1, 2, 3)}, time_limit=0.02,
                          progress=True)
    err = capsys.readouterr().err
    assert result.cost == 10_200_000
    assert "search:" in err and "s" in err and "best cost 30,000,000" in err


def test_a_callable_still_receives_the_improvements(capsys):
    seen = []
    search_order(_ChainModel(SIZES), {"forward": (1, 2, 3)}, time_limit=None, iterations=50,
                 progress=seen.append)
    assert seen and seen[-1].cost == 10_200_000
    assert capsys.readouterr().err == ""


def test_the_default_bar_needs_a_terminal_and_a_long_search(monkeypatch):
    assert not progress.progress_bar(3).shown  # stderr is captured: not a terminal
    monkeypatch.setattr(progress, "_on_terminal", lambda: True)
    with progress.progress_bar(3) as bar:
        assert bar.shown
    assert not _search_bar(None, 1.0, None).shown  # a planner's short search stays quiet
    long = _search_bar(None, 10.0, None)
    assert long.shown
    long.close()


def test_the_exact_dps_draw_their_bars(capsys):
    eg = elimination_graph(graph_spec(path_graph()))
    assert exact_order(eg, progress=True) == ((2, 3, 1), 10_200_000)
    assert "exact elimination" in capsys.readouterr().err
    assert exact_order(eg)[1] == 10_200_000  # 3 intermediates: no bar by default
    assert capsys.readouterr().err == ""
    assert pruned_exact_order(eg, 30_000_000, progress=True)[1] == 10_200_000
    assert "levels" in capsys.readouterr().err


def test_without_tqdm_asking_for_a_bar_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    with pytest.raises(MissingExtraError, match=r"pip install 'jacchain\[progress\]'"):
        progress.progress_bar(3, enabled=True)
    with pytest.raises(MissingExtraError, match="progress"):
        search_order(_ChainModel(SIZES), {"forward": (1, 2, 3)}, time_limit=0.01, progress=True)
    monkeypatch.setattr(progress, "_on_terminal", lambda: True)
    assert not progress.progress_bar(3).shown  # not asked for: silent


def test_a_bad_progress_value_is_refused():
    with pytest.raises(MethodError, match="progress must be None, True or False"):
        jc.plan_graph(path_graph(), progress="yes")
    with pytest.raises(MethodError, match="progress must be None, True or False"):
        list(progress.tracked(range(2), enabled=1))


def test_calibration_draws_a_bar_over_the_layers(capsys, monkeypatch):
    jax = pytest.importorskip("jax")
    import jacchain.jax as jcj

    monkeypatch.setattr(jcj.sequence, "_REPEATS", 1)  # the timings are not checked here
    W = np.arange(6.0, dtype=np.float32).reshape(2, 3)  # float32 in, float32 out, x64 or not
    jac = jcj.jacobian([lambda x: W @ x, jax.numpy.tanh], calibrate=True, progress=True)
    chain = jac.chain(jax.ShapeDtypeStruct((3,), jax.numpy.float32))
    assert [layer.kind for layer in chain.layers] == ["matrix-free", "diagonal"]
    err = capsys.readouterr().err
    assert "calibration" in err and "1/2" in err and "layer 1 (<lambda>)" in err
