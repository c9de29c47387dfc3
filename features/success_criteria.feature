@post_deployment
Feature: Success Criteria and Post-Deployment Watch
  The plan's Success Criteria and its immediate post-deployment activities. The watch
  re-evaluates the SLO gates over the plan's two hours (scaled in the sandbox) and rolls back
  on a breach. Metrics that software cannot measure are stated as such, never passed.

  @success_metric @blocker
  Scenario: All SLO gates pass consistently for 2 hours post-deployment
    Given the post-deployment watch of the release
    Then the watch covered 2 hours at the run's time scale
    And every evaluation of the SLO gates during the watch passed

  @success_metric @critical
  Scenario: Zero critical errors or security incidents
    Then no compliance violation, PII leak or critical error was recorded since the deployment

  @success_metric @critical
  Scenario: Hybrid routing efficiency above 95% optimal decisions
    When the labelled routing set is sent through the load balancer
    Then the share of routing decisions equal to the optimal decision is above 95 percent

  @success_metric @critical
  Scenario: Support operations latency reduced by more than 20% against the MCP-only baseline
    Given the same load run against the MCP-only baseline and against the hybrid release
    Then the mean latency of support operations is more than 20 percent lower with hybrid routing

  @success_metric @normal
  Scenario: Implementation gap detection accuracy above 85%
    When the labelled support cases are sent through the support API
    Then the share of cases whose implementation gap is detected correctly is above 85 percent

  @success_metric @normal
  Scenario: Cost optimization achieved through intelligent routing
    Then the cost per operation by route is reported
    And the cost per operation with intelligent routing is lower than sending every operation direct

  @success_metric @blocker
  Scenario: All monitoring and alerting operational
    Then every alarm of the release exists and evaluates from the published metrics

  @compliance @blocker
  Scenario: GDPR compliance, complete audit trail and EU data residency across all routing paths
    Then no personal data reached Bedrock or the MCP server since the deployment
    And every support operation since the deployment is in an audit trail that verifies
    And every direct Bedrock call since the deployment went to an EU region
    And no compliance violation was recorded since the deployment

  @manual @normal
  Scenario: Manual troubleshooting time reduced by more than 40%
    Then the operations team's attested troubleshooting-time reduction is above 40 percent

  @manual @normal
  Scenario: Zero customer-impacting incidents
    Then the incident log attested by the on-call team records 0 customer-impacting incidents
