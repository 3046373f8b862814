"""Worker processes for `hydra/launcher=batched` with `processes` > 1: sub-stacks trained side by side.

A stack group's trials are split into sub-stacks of whole trials (a trial's seeds never part); each
sub-stack is fit and evaluated by `run_trials` in a worker, exactly as it would be in the launcher's
own process, so every member stays bit-identical to a lone run. Only training crosses the process
boundary: status files, outputs, loggers and log lines stay in the launcher's process, as before.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Sequence, TypeVar

T = TypeVar("T")

START_METHOD = "forkserver"
"""Why not `fork`: the sweeper's process has threads (Optuna heartbeat, W&B, storage) and torch's OpenMP
pool, which a forked child may inherit locked. The forkserver imports torch and Lightning once (preload)
and forks workers from that clean process, so a worker starts in a fraction of a second."""
PRELOAD = ["excolor.run.trials"]


def wants_workers(argv: Sequence[str]) -> bool:
    """Whether a command line plainly asks for the batched launcher with worker processes."""
    if "hydra/launcher=batched" not in argv or available_cpus() < 2:
        return False
    processes = [arg.partition("=")[2].strip() for arg in argv if arg.startswith("hydra.launcher.processes=")]
    return not processes or processes[-1] != "1"


def prestart(argv: Sequence[str]) -> None:
    """Start the forkserver now, when the command line asks for workers, so that its imports (torch,
    Lightning: seconds) run beside the command's own instead of after them; measured ~1 s less per sweep.
    A launcher chosen elsewhere (a preset, conf/local/) still gets its pool started by `TrainingPool.start`."""
    if wants_workers(argv):
        threading.Thread(target=_start_forkserver, name="excolor-forkserver", daemon=True).start()


def _start_forkserver() -> None:
    """Starting any process through the forkserver context starts the (one, shared) forkserver."""
    probe = _context().Process(target=os.getpid)
    probe.start()
    probe.join()


def _context() -> multiprocessing.context.BaseContext:
    """The forkserver context, its server to preload torch and Lightning (whichever call starts it first)."""
    context = multiprocessing.get_context(START_METHOD)
    context.set_forkserver_preload(PRELOAD)
    return context


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """`items` in order, in at most `parts` non-empty contiguous runs whose sizes differ by at most one."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    runs, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        runs.append(list(items[start:end]))
        start = end
    return runs


def _init_worker(owner: Connection) -> None:
    """Workers leave Ctrl-C to the launcher (which stops them) and use one torch thread each, so
    `processes` workers share the cores instead of oversubscribing them during evaluation; each
    ends itself once `owner` (the read end of a pipe only the pool's process writes to) closes."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    threading.Thread(target=_exit_with_owner, args=(owner,), name="excolor-owner-watch", daemon=True).start()


def _exit_with_owner(owner: Connection) -> None:
    """End this worker once the pool's process is gone: the kernel closes its end of the pipe however
    it ended, even while it is an unreaped zombie (a pid check would wait for that).

    Why: a sweep killed outright (kill -9, the OOM killer) cannot stop its workers, and they would
    wait on their task queue forever (each holds both ends of it), keeping the forkserver alive too:
    measured, a killed sweep left its forkserver and both workers running indefinitely."""
    try:
        owner.recv()  # nothing is ever sent: this returns only by the pipe closing
    except (EOFError, OSError):
        pass
    os._exit(1)


def _train(payload: bytes) -> bytes:
    """Fit and evaluate one sub-stack (configs, dopesheets, regularizers); its TrialResults, pickled.

    Plain pickle both ways: torch's multiprocessing pickler would move tensors through shared memory
    and file descriptors, which a short-lived result does not need."""
    from excolor.run.trials import run_trials

    configs, sheets, regularizers = pickle.loads(payload)
    return pickle.dumps(run_trials(configs, sheets=sheets, regularizers=regularizers))


def _warm(executor: ProcessPoolExecutor, processes: int) -> None:
    """Start every worker: each submission finds no idle worker yet, so starts one."""
    try:
        for _ in range(processes):
            executor.submit(os.getpid)
    except RuntimeError:  # the pool was stopped before it had started
        pass


class TrainingPool:
    """A pool of `processes` workers for the whole sweep, started (and warmed) by `start`."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._owner_pipe: tuple[Connection, Connection] | None = None
        """(read end for the workers, write end kept here): its closing, this process gone, ends them."""
        self._others: set[multiprocessing.process.BaseProcess] = set()
        """Child processes that existed before the pool: whatever else is a child later is a worker."""

    def start(self) -> None:
        """Start the workers now, without waiting: their imports overlap the sweep's own set-up."""
        if self._executor is not None:
            return
        context = _context()
        self._others = set(multiprocessing.active_children())
        self._owner_pipe = context.Pipe(duplex=False)  # workers start lazily: both ends stay until stop()
        self._executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_init_worker,
                                             initargs=(self._owner_pipe[0],))
        # Starting a worker waits for the forkserver's imports (seconds): a thread waits, not the sweep.
        threading.Thread(target=_warm, args=(self._executor, self.processes), daemon=True).start()

    def submit(self, trials: list) -> Future:
        """Start training `trials` (PreparedTrial values, one sub-stack) in a worker; the future's
        value, through `results(future)`, is their `list[TrialResult]`."""
        self.start()
        assert self._executor is not None
        payload = pickle.dumps(([t.config for t in trials], [t.sheet for t in trials], trials[0].regularizers))
        return self._executor.submit(_train, payload)

    def stop(self) -> None:
        """Stop every worker now (Ctrl-C, a broken pool): queued work is cancelled, running work killed."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        workers = [p for p in multiprocessing.active_children() if p not in self._others]
        executor.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.join(timeout=5)
        for end in self._owner_pipe or ():
            end.close()
        self._owner_pipe = None


def results(future: Future) -> list:
    """A submitted sub-stack's TrialResults (waits; re-raises the worker's exception)."""
    return pickle.loads(future.result())
