@phase3
Feature: Phase 3 - SLO Gate Validation
  Validate all Service Level Objectives before activation (plan: Phase 3, 20 minutes).
  locust drives verification traffic through the load balancer to the new release with the
  hybrid paths evaluated (the verification context), for at least one full rolling window.
  Every gate records its measured value, threshold, sample count, window and source. A gate
  with too few samples, no data or an unreachable source is inconclusive, and inconclusive
  blocks like a failure. Decision point 2 follows this phase.

  Background:
    Given the SLO load has run through the load balancer for at least one 5-minute rolling window

  @gate @blocker
  Scenario: P95 latency of generation requests
    Then the P95 latency of generation requests is at most 1500 ms over at least 300 samples

  @gate @blocker
  Scenario: P95 latency of cached requests
    Then the P95 latency of cached requests is at most 300 ms over at least 300 samples

  @gate @blocker
  Scenario: Error rate over a 5-minute rolling window
    Then the error rate in every 5-minute rolling window is at most 1.0 percent over at least 1000 requests per window
    And the error rate in the trailing 5-minute window is at most 1.0 percent over at least 1000 requests

  @gate @blocker
  Scenario: Cost budget
    Then the current spend is at most 80 percent of the allocated budget

  @gate @blocker
  Scenario: Cache hit rate for frequent queries
    Then the cache hit rate of frequent queries is at least 80 percent over at least 500 lookups

  @decision_point @blocker
  Scenario: Decision point 2 - all SLO gates pass within thresholds
    Then every SLO gate of this phase passed
