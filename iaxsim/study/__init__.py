"""Study a network of linked PBXs: one call from a plan (or imported configs) to advice.

```python
from iaxsim.study import StudyOptions, load_network, recommend, run_study
result = run_study(load_network("data/plans/five_sites.csv"), StudyOptions(seeds=3))
print(recommend(result)["recommendations"])
```

:mod:`iaxsim.study.capacity` sizes servers and links (Erlang B, kbit/s per codec);
:mod:`iaxsim.study.tables` gives its tables as a planner reads them (headings with units, shares in
%, "mean (low–high)"); :mod:`iaxsim.study.output` writes the report folder of ``iaxsim study``.
"""
from iaxsim.study.capacity import link_capacity, server_loads, traffic_matrix
from iaxsim.study.core import (METRICS, REMOTE, Network, Study, StudyOptions, blocked_servers,
                               both_way_failures,
                               busy_hour_scenario, default_network, load_network, load_study,
                               one_way_failures, options_dict, unrouted_pairs,
                               options_from_dict, recommend, remote_headline, run_metrics,
                               run_study, save_study, summary_markdown)
from iaxsim.study.figures import bandwidth_figure, capacity_figure, conditions_figure
from iaxsim.study.output import verify_routes, write_artefacts, write_study
from iaxsim.study.tables import pairs_table

__all__ = ["link_capacity", "server_loads", "traffic_matrix", "METRICS", "REMOTE", "remote_headline",
           "Network", "Study",
           "StudyOptions", "busy_hour_scenario", "default_network", "load_network", "load_study",
           "save_study", "options_dict",
           "options_from_dict", "recommend", "run_metrics", "run_study", "summary_markdown",
           "bandwidth_figure", "capacity_figure", "conditions_figure", "verify_routes",
           "write_artefacts", "write_study", "pairs_table", "one_way_failures", "both_way_failures",
           "unrouted_pairs", "blocked_servers"]
