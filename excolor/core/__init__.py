"""The science, no files and no Hydra: colours, labels, data, the stacked model, regularizers, schedules,
training, ablation and the metrics. Everything else in excolor is built on this wing."""
