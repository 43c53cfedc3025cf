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
    memory limit, up to ``jobs`` at a time; records each row as the solve finishes and skips
    the solves already recorded in the output (resume).
``worker``
    The child-process side of one solve (``python -m benchmarks.suite.worker TASK RESULT``).
``report``
    Markdown summary, performance profile and gap-over-time plots from a results file.
``tune``
    Optuna search over solver parameters, trials stored in SQLite, best configuration written as
    a TOML file that ``plan``/``route`` accept.

Results file: ``results.json`` is a JSON list of rows, rewritten atomically after each solve (valid
JSON at every moment); a name ending in ``.jsonl`` gets JSON Lines instead (one row appended per
line). Either way an interrupted run loses at most the solves that were running; the fields are
``runner.ROW_FIELDS``.
"""
