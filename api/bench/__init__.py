"""The benchmark suite behind ``tradelane bench`` (DESIGN §9).

Modules
-------
``families``
    Instance families (``solomon``, ``homberger``, ``cvrplib``, ``cflp``, ``synthetic``): how to
    find instances in a folder, read one, look up its best-known value, the solvers that can run
    on it (ours and the peers) and the independent evaluator that checks a solution.
``peers``
    The peer solvers: PyVRP for routing; the plain monolithic model and the naive planner for
    allocation.
``runner``
    Runs instance x configuration x seed, each solve in its own process with a wall-clock and a
    memory limit, up to ``jobs`` at a time; appends one JSON line per solve to the output and
    skips the solves already recorded there (resume).
``worker``
    The child-process side of one solve (``python -m api.bench.worker TASK RESULT``).
``report``
    Markdown summary, performance profile and gap-over-time plots from a results file.
``tune``
    Optuna search over solver parameters, trials stored in SQLite, best configuration written as
    a TOML file that ``plan``/``route`` accept.

Result rows are JSON Lines: one JSON object per line, appended as each solve finishes, so an
interrupted run loses at most the solves that were running (see ``runner.ROW_FIELDS``).
"""
