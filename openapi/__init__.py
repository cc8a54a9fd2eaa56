"""The TuringCore v1 contract (turingcore.v1.yaml), shipped inside the package."""
