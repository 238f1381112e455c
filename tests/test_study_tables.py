"""The study's tables as the planner reads them (iaxsim.study.tables): headings with units,
shares in %, "mean (low–high)" over the seeds, intervals kept within what a quantity can take.

Expected cells are worked by hand from Student's t quantiles as printed in statistics tables
(t(0.975; 1) = 12.706, t(0.975; 2) = 4.303), not computed by the code under test.
"""
from __future__ import annotations

import pandas as pd
from iaxsim.study.tables import (CONDITION_COLUMNS, capacity_check_table, conditions_table,
                                 links_table, servers_table)


def _runs() -> pd.DataFrame:
    rows = []
    # condition "a": three seeds; condition "b": two seeds, listed first (order is kept)
    for cond, seed, answered, pdd in (("b", 1, 0.5, 0.2), ("b", 2, 0.7, 0.2),
                                      ("a", 1, 0.80, 0.100), ("a", 2, 0.80, 0.102),
                                      ("a", 3, 0.80, 0.104)):
        rows.append({"condition": cond, "seed": seed, "calls": 100.0 + seed, "p_answered": answered,
                     "p_busy": 0.0, "p_misrouted": 0.0, "p_rejected": 0.0, "p_failed": 0.0, "p_congestion": 0.0,
                     "p_waited": 0.0, "pdd": pdd, "pdd_remote": pdd, "attempts": 1.0})
    return pd.DataFrame(rows)


def test_conditions_table_cells_by_hand() -> None:
    table = conditions_table(_runs())
    assert list(table.index) == ["b", "a"]
    assert list(table.columns) == [c.heading for c in CONDITION_COLUMNS]
    # pdd of "a": 100, 102, 104 ms: mean 102, s = 2, half-width 4.303 × 2 / √3 = 4.97
    assert table.loc["a", "post-dial delay, all calls (ms)"] == "102 (97–107)"
    # answered in "b": 50 % and 70 %: mean 60, half-width 12.706 × 14.14 / √2 = 127.1 → kept in 0–100
    assert table.loc["b", "answered (%)"] == "60.0 (0.0–100.0)"
    # no spread: the interval is the mean itself
    assert table.loc["a", "answered (%)"] == "80.0 (80.0–80.0)"
    assert table.loc["a", "call attempts"] == "102 (100–104)"


def test_a_condition_with_one_seed_shows_the_mean_alone() -> None:
    table = conditions_table(_runs().iloc[:1])
    assert table.loc["b", "answered (%)"] == "50.0"


def test_links_table_reads_in_words_and_units() -> None:
    links = pd.DataFrame([{"a": "HQ", "b": "PLANT", "erlangs": 7.5, "channels": 15, "blocking": 0.00568,
                           "codec": "ulaw", "kbps_untrunked": 1260.4, "kbps_trunked": 1049.6}])
    row = links_table(links, 0.01).iloc[0].to_dict()
    assert row == {"link": "HQ–PLANT", "offered load (Erlangs)": "7.50",
                   "channels for 1 % blocking": 15, "blocking with them (%)": "0.57",
                   "codec": "ulaw", "untrunked (kbit/s each way)": "1,260",
                   "trunked (kbit/s each way)": "1,050"}


def test_servers_table_names_the_grade_of_service() -> None:
    servers = pd.DataFrame([{"server": "HQ", "erlangs": 45.0, "channels": 58}])
    assert list(servers_table(servers, 0.005).columns) == ["server", "offered load (Erlangs)",
                                                          "channels for 0.5 % blocking"]


def test_capacity_check_never_shows_a_negative_blocking() -> None:
    check = pd.DataFrame([{"erlangs": 45.0, "channels": 58, "erlang_b": 0.00962, "simulated": 0.00861,
                           "ci_low": -0.0144, "ci_high": 0.0316, "agrees": True}])
    row = capacity_check_table(check).iloc[0].to_dict()
    assert row == {"offered load (Erlangs)": "45.00", "channels": 58, "Erlang B blocking (%)": "0.96",
                   "simulated blocking (%)": "0.86 (0.00–3.16)", "Erlang B within the interval": "yes"}
