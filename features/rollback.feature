@rollback
Feature: Rollback Procedures
  The plan's three rollback tiers, each verified after it runs and timed against its target.
  The rollback playbooks run these scenarios for their own tier; the targets are wall-clock
  times and are not scaled.

  @rollback_immediate @blocker
  Scenario: Immediate rollback returns the system to MCP-only operation in less than 5 minutes
    Given the immediate rollback has run
    Then all five hybrid routing flags are off in the flag store
    And every serving slot reports all five flags off
    And operations of every type are routed through MCP in MCP-only mode, as the routing metrics show
    And the error rate while monitoring for stability is at most 1.0 percent over at least 100 requests
    And the rollback finished in less than 5 minutes

  @rollback_partial @blocker
  Scenario: Partial rollback re-enables the stable features one at a time in less than 10 minutes
    Given the partial rollback has run
    Then the immediate rollback ran first
    And the stable flags were re-enabled one at a time in the plan's order, each after a clean monitoring period
    And the failing flag and every flag after it are off
    And the error rate while monitoring for stability is at most 1.0 percent over at least 100 requests
    And the rollback finished in less than 10 minutes

  @rollback_full @blocker
  Scenario: Full rollback reverts traffic, deployments and configuration in less than 30 minutes
    Given the full rollback has run
    Then the immediate rollback ran first
    And the previous slot serves 100 percent of the traffic with the previous release
    And the new slot no longer runs the release under deployment
    And the flag store holds the configuration from before the deployment
    And every component of the serving slot is healthy
    And operations of every type are answered with an error rate of at most 1.0 percent over at least 100 requests
    And the rollback finished in less than 30 minutes
