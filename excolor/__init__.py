"""excolor: Hydra-configured sweeps of concept-deletion experiments on a tiny colour autoencoder."""
