"""What is released: the artifact of a release and the approvals bound to it."""
