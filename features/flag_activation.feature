@phase5
Feature: Phase 5 - Feature Flag Activation
  Gradually activate hybrid routing features (plan: Phase 5, 10 minutes): the five flags in
  the plan's order, one at a time, with a 2-minute monitoring period after each activation and
  automatic rollback on any performance degradation. Degradation means an SLO breach in the
  monitoring window; a window with too few samples is inconclusive and also rolls back.

  @flag_window @gate @blocker
  Scenario: No performance degradation in the 2-minute monitoring period after a flag is activated
    Given the flag just activated is on in every serving slot
    When customer traffic is observed for the 2-minute monitoring period
    Then the error rate over the monitoring period is at most 1.0 percent over at least 200 requests
    And the P95 latency of generation requests over the monitoring period is at most 1500 ms over at least 100 samples

  @gate @blocker
  Scenario: The flags were activated one at a time in the plan's order, each followed by its monitoring period
    Then the flag activation record shows this order, each flag activated only after the previous one's monitoring period passed
      | order | flag                            | purpose                                  |
      | 1     | ENABLE_HYBRID_HEALTH_MONITORING | Enable health monitoring first           |
      | 2     | ENABLE_BEDROCK_SUPPORT_MODE     | Activate core support mode               |
      | 3     | ENABLE_INTELLIGENT_ROUTING      | Enable intelligent routing decisions     |
      | 4     | ENABLE_DIRECT_BEDROCK_FALLBACK  | Enable direct Bedrock fallback           |
      | 5     | ENABLE_PERFORMANCE_OPTIMIZATION | Activate performance optimizations       |
    And every monitoring period lasted at least 2 minutes at the run's time scale

  @gate @blocker
  Scenario: All five hybrid routing flags are on and every serving slot routes by them
    Then all five hybrid routing flags are on in the flag store
    And every serving slot reports all five flags on and its flag store healthy
