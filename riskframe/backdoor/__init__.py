"""Backdoors: the seed patch-trigger scenario (:mod:`.patch`, numpy only) and a small CNN to
poison, probe and retrain (:mod:`.cnn`, the ``torch`` extra). Import the submodules directly;
this package imports nothing heavy."""
