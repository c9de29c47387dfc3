"""The SLO load: running locust as a subprocess, its load profile, and the results it writes."""
