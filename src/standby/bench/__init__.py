"""The benchmark harness behind `standby bench`: figures beside baselines, same run."""
