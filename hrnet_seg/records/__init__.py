"""Run records: what a run leaves in its work dir and what reads it back.

``results.json`` / ``env.json`` (:mod:`.run_files`), ``benchmark.json``
(:mod:`.benchmark_file`), the offline W&B run file (:mod:`.wandb_reader`) and the run
metadata taken from a resolved config (:mod:`.metadata`). The engine writes them and the
leaderboard reads them; this package sits below both and imports neither (nor torch or
mmengine), so that training never depends on the leaderboard.
"""
