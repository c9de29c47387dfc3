@phase2
Feature: Phase 2 - Component Deployment
  Deploy all hybrid routing components to production (plan: Phase 2, 45 minutes):
  blue-green deployment with canary rollout, component by component with validation,
  automatic rollback on any component failure. Decision point 1 follows this phase.

  Background:
    Given the release under deployment runs on the idle slot

  @health_check @blocker
  Scenario Outline: <component> is deployed on the idle slot and healthy
    Then the <component> component on the idle slot runs the version of the release under deployment
    And the <component> component on the idle slot is healthy

    Examples:
      | component             |
      | BedrockSupportManager |
      | IntelligentRouter     |
      | DirectBedrockClient   |
      | MCPRouter             |
      | HybridHealthMonitor   |
      | PerformanceOptimizer  |
      | ComplianceValidator   |

  @gate @blocker
  Scenario: Components were deployed one by one in dependency order, each validated before the next
    Then the deployment record lists all 7 components in their dependency order
    And each component passed its health check before the next component was deployed

  @gate @blocker
  Scenario: The previous release keeps serving from the active slot until the canary moves traffic
    Then the active slot still runs the previous release
    And every component of the active slot is healthy

  @canary @gate @blocker
  Scenario: The traffic split observed through the load balancer matches the canary step
    Given the canary step currently applied to the load balancer
    When 200 requests are sent through the load balancer
    Then the share served by the idle slot is within 5 percentage points of the canary weight
    And the error rate of those requests is at most 1.0 percent

  @decision_point @blocker
  Scenario: Decision point 1 - all components deployed successfully, no errors
    Then all 7 components of the new slot are healthy at the version of the release under deployment
    And the canary steps were applied in increasing order, the first at most 10 percent, the last 100 percent
    And the observed split was verified at every canary step
    And the new slot serves 100 percent of the traffic
    And no component deployment error was recorded
