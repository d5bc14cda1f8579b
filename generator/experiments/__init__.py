"""A/B experiments after they run: exposures and conversions from the events store, the
statistics of three engines, sample-ratio checks, verdicts and the decisions they lead to."""
