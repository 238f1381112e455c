"""Numbering plans for linked PBXs: read, analyse, cover with patterns, generate, renumber.

```python
from iaxsim.numbering import NumberingPlan, analyze, cover, renumber, synthetic_plan
plan = NumberingPlan.from_csv("data/plans/five_sites.csv")
print(analyze(plan).summary())
```
"""
from iaxsim.numbering.analysis import PlanAnalysis, analyze, find_prefix_pairs
from iaxsim.numbering.cover import cover, cover_masks, verify_cover
from iaxsim.numbering.generate import (LinkTable, external_conf, link_conf, link_confs, pattern_counts,
                                       server_patterns, write_all_confs, write_server_confs)
from iaxsim.numbering.plan import NumberingPlan, PlanError
from iaxsim.numbering.renumber import RenumberResult, renumber
from iaxsim.numbering.synthetic import synthetic_plan

__all__ = ["NumberingPlan", "PlanError", "PlanAnalysis", "analyze", "find_prefix_pairs", "cover",
           "cover_masks", "verify_cover", "LinkTable", "external_conf", "link_conf", "link_confs", "pattern_counts",
           "server_patterns", "write_all_confs", "write_server_confs", "RenumberResult", "renumber",
           "synthetic_plan"]
