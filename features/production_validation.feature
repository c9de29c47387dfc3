@phase6
Feature: Phase 6 - Production Validation
  Validate hybrid routing functionality in production (plan: Phase 6, 30 minutes), with all
  five flags on and customer traffic on the new release. Decision point 3 follows this phase.

  @validation @blocker
  Scenario Outline: Routing Decision Validation - <type> operations are routed as the routing matrix prescribes
    When a <type> operation is sent through the load balancer
    Then it is answered through route <route> with reason "<reason>"

    Examples:
      | type       | route  | reason          |
      | emergency  | direct | priority_direct |
      | critical   | direct | priority_direct |
      | generation | direct | generation_direct |
      | routine    | mcp    | cheapest_adequate |

  @validation @blocker
  Scenario: Direct Bedrock Operations - emergency and critical operations are served by Bedrock in the EU
    When 10 emergency and 10 critical operations are sent through the load balancer
    Then all 20 are answered through route direct
    And Bedrock logged all 20 as answered in an EU region

  @validation @blocker
  Scenario: MCP Fallback Testing - fallback mechanisms and recovery
    Given the Bedrock client of every serving host fails every call as unavailable (the release's failure switch)
    When 10 emergency operations are sent through the load balancer
    Then all 10 are answered through route mcp, first with reason "fallback_from_direct" and, once the Bedrock circuit opened, with reason "circuit_open"
    And no customer saw an error
    When the failure switch is cleared on every serving host
    Then emergency operations are answered through route direct again within the circuit reset time

  @validation @blocker
  Scenario: Performance Optimization - caching and optimization features
    Given 20 queries are frequent, each asked 3 times within the frequent-query window
    When each of the 20 frequent queries is sent 10 times through the load balancer
    Then the cache hit rate of frequent queries is at least 80 percent over at least 200 lookups
    And the P95 latency of cached requests is at most 300 ms over at least 100 samples

  @validation @blocker
  Scenario: Compliance Validation - GDPR and security compliance
    When operations of every type containing personal data are sent through the load balancer
    Then no answer contains the personal data
    And Bedrock's invocation logs and the release's audit of its MCP tool calls hold none of the personal data
    When an emergency operation for a customer outside the EU residency regions is sent through the load balancer
    Then the direct Bedrock call is refused and the operation is answered through route mcp with reason "compliance_residency"
    And Bedrock logged no call of it once a later direct call is logged
    And the refusal is recorded as a compliance violation

  @validation @blocker
  Scenario: Audit Trail Verification - complete audit logging
    Then every operation this validation sent is in the audit trail of the slot that served it
    And the audit trail of every serving slot verifies as an unbroken hash chain

  @decision_point @blocker
  Scenario: Decision point 3 - all validation tests pass, system stable
    Then every validation of this phase passed
    And the error rate of customer traffic during this phase is at most 1.0 percent over at least 200 requests
