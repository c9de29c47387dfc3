"""A tiny stand-in slot service for sandbox tests: answers like the contract's /version, nothing more."""
