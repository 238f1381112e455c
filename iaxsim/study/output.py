"""Write a study: ``index.html`` (executive summary first), the executed notebook and its HTML
page, and ``artefacts/`` — all into a temporary folder renamed into place at the end, so a
failure leaves nothing half-written."""
from __future__ import annotations

import html
import json
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from iaxsim.collector import paused
from iaxsim.errors import ConfigError, IaxsimError
from iaxsim.numbering import LinkTable, NumberingPlan, write_server_confs
from iaxsim.files import replace_folder
from iaxsim.report.build import export_html, run_notebook
from iaxsim.study.core import (Network, Study, StudyOptions, extensions_per_server, load_network,
                               options_dict, recommend, run_study, save_study)
from iaxsim.study.tables import pairs_table

__all__ = ["write_artefacts", "verify_routes", "study_notebook", "write_study", "STYLE"]

#: The stylesheet of the study's index page.
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}h1{border-bottom:2px solid #36c}h2{color:#36c;margin-top:2rem}
.summary{background:#f4f7fc;border-left:4px solid #36c;padding:.5rem 1.2rem}
.clean{border-left-color:#2a2}table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}img{max-width:100%}"""


def write_artefacts(study: Study, folder: Path, link_mode: str) -> dict[str, Path]:
    """Per server ``<id>/external.conf`` and ``link.conf`` of the recommended plan, ``renumber-map.csv``
    (server, old, new), ``plan-proposed.csv`` and the calls as CSV and Parquet."""
    plan = study.recommended_plan
    folder.mkdir(parents=True, exist_ok=True)
    table = LinkTable(plan, link_mode)
    for server in plan.servers:
        write_server_confs(plan, server, folder / server, mode=link_mode, table=table)
    if study.proposal is not None:
        mapping = study.proposal.mapping[["server", "old", "new"]]
    else:
        mapping = pd.DataFrame([(s, n, n) for s in plan.servers for n in plan.of(s)],
                               columns=["server", "old", "new"])
    mapping.to_csv(folder / "renumber-map.csv", index=False)
    plan.to_csv(folder / "plan-proposed.csv")
    study.calls.to_csv(folder / "calls.csv", index=False)
    study.calls.to_parquet(folder / "calls.parquet")
    return {s: folder / s for s in plan.servers}


def _verify_server(args: tuple[dict[str, tuple[str, ...]], str, Path]) -> list[str]:
    from iaxsim.dialplan.linked import LinkedServer

    owners, server, folder = args
    linked = LinkedServer.from_dir(folder, name=server)
    bad = []
    with paused():  # every number's look-up allocates, and nearly nothing forms a cycle
        for number, who in owners.items():
            local, first = linked.first_dial(number, engine="trie")
            if server in who:
                ok = local is not None
            else:
                peer = first.peer if first is not None else ""
                ok = peer in who or (peer.startswith("server") and peer[len("server"):] in who)
            if not ok:
                bad.append(f"{server}: {number} does not reach {'/'.join(who)}")
    return bad


def verify_routes(plan: NumberingPlan, folders: dict[str, Path], workers: int = 1) -> list[str]:
    """Check with the dialplan engine that each server's external.conf + link.conf route every
    extension of ``plan`` to its owner (local, or the owner as first dial: trixbox names it
    ``server<ID>``); returns the failures. ``workers`` > 1 checks servers in parallel processes."""
    owners = plan.owners()
    jobs = [(owners, server, folder) for server, folder in folders.items()]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_verify_server, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        results = [_verify_server(job) for job in jobs]
    return [line for bad in results for line in bad]


def study_notebook() -> Path:
    """The parameterised study notebook shipped with the package."""
    return Path(str(resources.files("iaxsim.study").joinpath("study.ipynb")))


def _params_source(params: dict[str, Any]) -> str:
    return "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())


def _inject(nb: Any, params: dict[str, Any]) -> None:
    """Put ``params`` in a cell tagged ``injected-parameters`` after the ``parameters`` cell (as
    papermill does)."""
    import nbformat

    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise IaxsimError("the study notebook has no cell tagged 'parameters'")
    cell = nbformat.v4.new_code_cell(_params_source(params), metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def execute_study_notebook(params: dict[str, Any], workdir: Path, timeout: int = 1800) -> Any:
    """Run the study notebook with ``params`` injected, in ``workdir``; returns the executed notebook."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(study_notebook(), as_version=4)
    _inject(nb, params)
    try:
        run_notebook(nb, workdir, timeout)
    except CellExecutionError as err:
        raise IaxsimError(f"study notebook failed: {str(err).strip().splitlines()[-1]}") from None
    return nb


def _more(total: int, shown: int) -> str:
    return (f"{total - shown} more rows in the notebook (<code>result.link_table()</code>)." if total > shown else "")


def _measured(o: StudyOptions, sizes: dict[str, int], linking: str) -> tuple[float, float]:
    """(seconds each run of ``linking`` measures, attempts offered in them in all)."""
    seconds = o.measured_seconds(sizes, linking)
    return seconds, sum(o.attempts_by_server(sizes).values()) * seconds / 3600.0


def _stretch(o: StudyOptions, sizes: dict[str, int]) -> str:
    """How much of the busy hour the runs measure, in words."""
    parts = []
    for linking, budget, label in (("linked", "--max-calls", "each link.conf run"),
                                   ("switch", "--switch-calls", "each switch => run")):
        seconds, calls = _measured(o, sizes, linking)
        if seconds >= o.duration:
            parts.append(f"{label} {seconds / 60:g} min (about {calls:,.0f} attempts)")
        else:
            parts.append(f"{label} {seconds / 60:.1f} min at the full rate (about {calls:,.0f} "
                         f"attempts, the <code>{budget}</code> budget)")
    return "; ".join(parts)


def _offered(o: StudyOptions, sizes: dict[str, int]) -> str:
    """The busy hour's offered traffic, in words."""
    if not o.per_extension:
        return f"{o.attempts_per_hour:g} call attempts per server"
    attempts = o.attempts_by_server(sizes)
    low, high = min(attempts, key=attempts.__getitem__), max(attempts, key=attempts.__getitem__)
    return (f"{o.erlangs_per_extension:g} Erlangs per extension ({sum(attempts.values()):,.0f} call "
            f"attempts an hour in all, from {attempts[low]:,.0f} at {html.escape(low)} to "
            f"{attempts[high]:,.0f} at {html.escape(high)}; remote calls to each server in "
            "proportion to its extensions)")


def _between_sites(o: StudyOptions, net: Network) -> str:
    """The IP network between the servers, in words (escaped)."""
    table = net.ip_network
    src = html.escape(net.source)
    if "latency" in table:
        text = f"one-way latency between sites as {src} gives it"
    else:
        text = f"{o.latency * 1000:g} ms one-way between sites"
    extras = [what for key, what in (("links", "per-link latency"), ("firewall", "firewall rules"),
                                    ("jitter", "jitter"), ("loss", "loss")) if table.get(key)]
    if any(settings.get("nat") for settings in net.server_settings.values()):
        extras.append("servers behind NAT")
    if extras:
        text += f" ({', '.join(extras)} as {src} describes them)"
    return text


def _table(frame: pd.DataFrame, floats: str = "{:.3g}") -> str:
    return frame.to_html(index=False, float_format=lambda x: floats.format(x), border=0)


def index_html(study: Study, advice: dict[str, Any]) -> str:
    """The study's index page: executive summary and recommendation, then the figures and tables."""
    from iaxsim.study.figures import (bandwidth_figure, capacity_figure, conditions_figure,
                                      png_data_uri)

    esc = html.escape
    cls = "summary clean" if advice["clean"] else "summary"
    findings = "".join(f"<li>{esc(f)}</li>" for f in advice["findings"])
    recs = "".join(f"<li>{esc(r)}</li>" for r in advice["recommendations"])
    o = study.options
    figs = "".join(f'<p><img alt="{esc(alt)}" src="{png_data_uri(f)}"></p>' for alt, f in (
        ("remote calls: post-dial delay and failures by what the caller hears, per condition",
         conditions_figure(study)),
        ("channels per server against Erlang B", capacity_figure(study)),
        ("WAN bandwidth per link", bandwidth_figure(study))))
    slowest, n_pairs = study.slowest_pairs(study.baseline)
    pairs = slowest.reset_index()
    shown = ("every pair" if len(pairs) - 1 >= n_pairs else
             f"the {len(pairs) - 1} slowest of {n_pairs} pairs (every pair: the full study page)")
    sizes = extensions_per_server(study.network.plan)
    per_condition = pairs_table(study.remote(pairs=False).reset_index().drop(columns=["origin", "target"]))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Study of {esc(study.network.source)}</title>
<style>{STYLE}</style></head><body>
<h1>Study of {esc(study.network.source)}</h1>
<div class="{cls}"><h2>Executive summary</h2>
<p>{len(study.network.plan.servers)} servers, {len(study.network.plan)} extensions; busy hour of
{_offered(o, sizes)}, {o.remote:.0%} to other servers, {_between_sites(o, study.network)},
{o.seeds} seeds (figures are means ± 95 % intervals). Measured per run:
{_stretch(o, sizes)}.</p>
<p><strong>{esc(advice["headline"])}</strong></p>
<h3>What is wrong now</h3><ul>{findings}</ul>
<h3>Recommendation</h3><ul>{recs}</ul></div>
<p>Pages: <a href="study.html">the full study</a> (open <a href="study.ipynb">study.ipynb</a> in JupyterLab
to change and re-run it); files to deploy in <a href="artefacts/">artefacts/</a>.</p>
<h2>Remote calls per origin → target ({esc(study.baseline)})</h2>
<p>Post-dial delay of the remote calls that rang (ms); dial attempts and wrong-server attempts per remote
call; shares of remote calls (%) that waited a digit timeout and that the caller hears as busy, congestion,
number unobtainable or misrouted. Mean over {o.seeds} seeds (95 % interval); {shown}, slowest first.</p>{_table(pairs_table(pairs))}
<h2>Remote calls per condition</h2>{_table(per_condition)}
<h2>Figures</h2>{figs}
<h2>Every call, per condition</h2>
<p>All calls, local and remote: what became of them (% of call attempts), their post-dial delay and
dial attempts. Mean over {o.seeds} seeds (95 % interval).</p>{_table(study.conditions().reset_index())}
<h2>Capacity per link</h2>
<p>Offered load both ways from the traffic matrix, the channels Erlang B sizes for the target blocking,
and the WAN bandwidth each way at the Ethernet layer with every channel busy; busiest first.</p>
{_table(study.link_table(40))}
<p>{_more(len(study.links), 40)}</p>
<h2>Capacity check: Erlang B against the simulation</h2>
<p>One server offered each load with the channels Erlang B sizes: its simulated blocking should take
Erlang B's value within its 95 % interval.</p>{_table(study.capacity_table())}
</body></html>
"""


def write_study(input_path: str | Path, out: str | Path, opts: StudyOptions,
                progress: bool = False, notebook: bool = True, workers: int = 1) -> Path:
    """Run the study of ``input_path`` and write ``out`` (see the module doc); returns ``out``.
    ``workers`` processes run the simulations (the results do not depend on it)."""
    net: Network = load_network(input_path)
    target = Path(out)
    if target.exists() and (not target.is_dir() or (any(target.iterdir())
                                                     and not (target / "index.html").exists())):
        raise ConfigError("exists and is not an earlier study (no index.html): not replaced", str(target))
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))

    def step(text: str) -> None:  # after the runs' progress bar: what the command does now
        if progress:
            print(f"study: {text}", file=sys.stderr, flush=True)

    try:
        cache = tmp / ".runs"
        study = run_study(net, opts, progress=progress, workers=workers)
        advice = recommend(study)
        step(f"writing the configuration files and checking that they route each of the "
             f"{len(study.recommended_plan)} numbers to its server")
        folders = write_artefacts(study, tmp / "artefacts", advice["link_mode"])
        bad = verify_routes(study.recommended_plan, folders, workers=workers)
        if bad:
            raise IaxsimError(f"generated link.conf misroutes {len(bad)} number(s), first: {bad[0]}")
        (tmp / "artefacts" / "summary.json").write_text(json.dumps(advice, indent=1), encoding="utf-8")
        if notebook:
            import nbformat

            # the notebook shows the command's results (stored, not computed again); the saved
            # notebook re-simulates when re-run: neither the stored study nor the runs are kept
            stored = save_study(study, cache / "study.pickle")
            params: dict[str, Any] = {"network": str(Path(input_path).resolve()),
                                      "options": options_dict(opts), "cache_dir": None,
                                      "results": str(stored.resolve())}
            step("running the study notebook")
            nb = execute_study_notebook(params, tmp)
            injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
            injected.source = _params_source({**params, "results": None})
            nbformat.write(nb, tmp / "study.ipynb")
            export_html(nb, tmp / "study.html")  # code hidden, figures and tables kept
        step("writing index.html")
        (tmp / "index.html").write_text(index_html(study, advice), encoding="utf-8")
        shutil.rmtree(cache, ignore_errors=True)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private; a report folder is not
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
