"""The console commands (excolor-train, -eval, -report, -validate, -recover): argument parsing and
printing around the wings below. Nothing imports a command."""
