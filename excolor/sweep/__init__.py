"""The sweep loop: Hydra's sweeper plugin that asks Optuna for trials, the batched launcher that trains
them, worker processes, racing over seeds, the search space and the workers' heartbeats."""
