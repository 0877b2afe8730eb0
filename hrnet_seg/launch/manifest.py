"""The manifest of a submission: what was submitted, where it runs, how it stands.

``manifest.json`` is the one file ``status`` and ``collect`` need; it is rewritten
atomically, so a ``status`` killed half-way never leaves it truncated.
"""

from __future__ import annotations

import json
import os.path as osp
from dataclasses import asdict, dataclass, field

from ..errors import UserError
from . import state as run_states

MANIFEST = "manifest.json"


class ManifestError(UserError, FileNotFoundError):
    """No readable manifest where the user pointed."""


@dataclass
class SubmittedRun:
    """One run of a submission as the manifest records it: its job, config, work dir,
    seed, and the state last seen."""

    index: int
    name: str
    job_id: str
    config: str
    cfg_options: dict
    params: dict
    work_dir: str
    seed: int
    max_iters: int
    state: str = "queued"
    slurm_state: str | None = None
    last_iter: int | None = None
    miou: float | None = None
    error: str | None = None
    nodes: str | None = None  # the job's allocation (node[1-2])
    node_trouble: str | None = None  # of a failed run: its nodes that are down or unreachable


@dataclass
class Manifest:
    path: str
    kind: str  # "train" or "sweep"
    name: str
    created: str
    executor: str  # "slurm" or "local"
    folder: str  # submitit's folder: pickles and logs
    array_job_id: str | None
    resources: dict
    command: list
    runs: list[SubmittedRun] = field(default_factory=list)

    # -- files ---------------------------------------------------------------------------

    def save(self) -> None:
        from ..records.run_files import write_json

        data = asdict(self)
        data.pop("path")
        write_json(self.path, data)

    @classmethod
    def load(cls, path: str) -> Manifest:
        if osp.isdir(path):
            path = osp.join(path, MANIFEST)
        if not osp.isfile(path):
            raise ManifestError(
                f"{path}: no manifest. Pass the manifest.json that slurm/submit.py or "
                "slurm/sweep.py printed, or the folder that holds it."
            )
        try:
            with open(path) as f:
                data = json.load(f)
            runs = [SubmittedRun(**r) for r in data.pop("runs")]
            return cls(path=path, runs=runs, **data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ManifestError(f"{path}: not a hrnet_seg manifest ({exc})") from None

    # -- what status and collect need ---------------------------------------------------

    def log_paths(self, run: SubmittedRun) -> tuple[str, str]:
        return run_states.log_paths(self.folder, run.job_id)

    def refresh(self) -> Manifest:
        """Ask the scheduler and the work dirs, update every run, save."""
        slurm = self.executor == "slurm"
        scheduler = run_states.slurm_jobs([r.job_id for r in self.runs]) if slurm else {}
        for run in self.runs:
            job = scheduler.get(run.job_id)
            st = run_states.run_state(
                job_id=run.job_id,
                folder=self.folder,
                work_dir=run.work_dir,
                executor=self.executor,
                slurm_state=job.state if job else None,
                nodes=job.nodes if job else run.nodes,
            )
            run.state, run.slurm_state, run.nodes = st.state, st.slurm_state, st.nodes
            run.last_iter, run.miou, run.error = st.last_iter, st.miou, st.error
            # A failed run may have died with a node: say which (kept once seen, as the
            # node may be back by the next look).
            if st.state != run_states.FAILED:
                run.node_trouble = None
            elif slurm and st.nodes and not run.node_trouble:
                run.node_trouble = run_states.node_trouble(st.nodes)
        self.save()
        return self

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in self.runs:
            out[run.state] = out.get(run.state, 0) + 1
        return out

    def finished(self) -> bool:
        return all(r.state in (run_states.DONE, run_states.FAILED) for r in self.runs)

    def table(self) -> str:
        head = ("run", "job", "state", "iter", "mIoU", "nodes", "params")
        rows = []
        for r in self.runs:
            progress = (
                f"{r.last_iter or 0}/{r.max_iters}" if r.max_iters else str(r.last_iter or "-")
            )
            params = " ".join(f"{k}={v}" for k, v in r.params.items()) or "-"
            miou = f"{r.miou:.2f}" if r.miou is not None else "-"
            state = r.state if not r.slurm_state else f"{r.state} ({r.slurm_state})"
            rows.append((r.name, r.job_id, state, progress, miou, r.nodes or "-", params))
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
        lines = [
            "  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
            for row in (head, *rows)
        ]
        return "\n".join(lines)

    def failures(self) -> str:
        """Each failed run's error (the remote traceback's last lines) and log paths."""
        parts = []
        for r in self.runs:
            if r.state != run_states.FAILED:
                continue
            out, err = self.log_paths(r)
            lines = (r.error or "").strip().splitlines()
            tail = "\n".join((["..."] if len(lines) > 80 else []) + lines[-80:])
            where = f" on {r.nodes}" if r.nodes else ""
            trouble = f"\n{r.node_trouble}" if r.node_trouble else ""
            parts.append(
                f"--- {r.name} (job {r.job_id}) failed{where}; logs: {out} {err}{trouble}\n{tail}"
            )
        return "\n".join(parts)

    def collect(self) -> list[dict]:
        """The finished runs' results.json with their swept parameters, best mIoU
        first; written next to the manifest as ``collected.json``."""
        from ..records.run_files import write_json

        collected = []
        for r in self.runs:
            _, _, results = run_states.progress(r.work_dir)
            if not results or results.get("status") != "finished":
                continue
            collected.append(
                {
                    "name": r.name,
                    "job_id": r.job_id,
                    "params": r.params,
                    "work_dir": r.work_dir,
                    "results": results,
                }
            )
        collected.sort(key=lambda c: -(c["results"].get("mIoU") or float("-inf")))
        write_json(osp.join(osp.dirname(self.path), "collected.json"), {"runs": collected})
        return collected
