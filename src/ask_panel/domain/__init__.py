"""The domain: panels, experts, strategies and consensus, in plain Python with no I/O."""
