"""Rules kept as data: boilerplate paragraphs and quality thresholds, below the config."""
