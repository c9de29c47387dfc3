"""Load for the cached-route throughput benchmark: frequent routine queries, every one a cache hit."""

import os

from locust import FastHttpUser, constant_throughput, task

_QUERIES = [f"How do I rotate the API key of workspace {n}?" for n in range(20)]
_TOKEN = os.environ["SUPPORT_ADMIN_TOKEN"]


class CachedQueryUser(FastHttpUser):
    """Asks the same frequent routine questions; the verification context turns the cache on."""

    wait_time = constant_throughput(1000)  # as fast as the service answers

    @task
    def frequent_query(self) -> None:
        """One routine operation that the cache answers."""
        query = _QUERIES[self.environment.runner.stats.num_requests % len(_QUERIES)]
        with self.client.post(
            "/v1/support/operations",
            json={"type": "routine", "query": query, "customer_region": "eu-central-1"},
            headers={"X-Verification-Token": _TOKEN},
            name="cached",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or response.json().get("route") != "cache":
                response.failure(f"not served from cache: {response.status_code} {response.text[:120]}")
