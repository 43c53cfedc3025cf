"""The solver backend: the only package that calls OR-Tools' ``model_builder`` (HiGHS, SCIP,
CP-SAT) and SciPy's HiGHS LP. Models hand it arrays (:class:`~optimizer.solver.mip.MatrixModel`)
and get :class:`~optimizer.solver.mip.RawSolve` back; solver objects never leave it."""

from optimizer.solver.mip import MatrixModel as MatrixModel
from optimizer.solver.mip import RawSolve as RawSolve
from optimizer.solver.mip import SmallMip as SmallMip
from optimizer.solver.mip import SolverOptions as SolverOptions
from optimizer.solver.mip import SolverSettings as SolverSettings
from optimizer.solver.mip import hint_feasible as hint_feasible
from optimizer.solver.mip import native_stdout_to_stderr as native_stdout_to_stderr
from optimizer.solver.mip import solve_lp_duals as solve_lp_duals
from optimizer.solver.mip import solve_model as solve_model
from optimizer.solver.mip import solve_small_mip as solve_small_mip
from optimizer.solver.status import Status as Status
