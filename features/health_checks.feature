@phase4
Feature: Phase 4 - Health Check Execution
  Verify all system components are healthy (plan: Phase 4, 15 minutes). Each of the plan's
  seven health checks is performed for real against the new release, not read from a status
  page.

  @health_check @blocker
  Scenario: Direct Bedrock Connection - AWS Bedrock API connectivity and authentication
    When a Converse request is sent to Bedrock with the release's credentials
    Then Bedrock answers with a message and its token usage
    And a Converse request with unknown credentials is refused as access denied
    And the Bedrock region of the release is in the EU allow-list

  @health_check @blocker
  Scenario: MCP Router Health - MCP communication and message processing
    When the support tools are listed over MCP and "search_knowledge" is called
    Then the tool call round-trips with a structured result within 2000 ms
    And the MCPRouter component of every serving slot is healthy

  @health_check @blocker
  Scenario: Intelligent Router Status - routing decision logic and fallback mechanisms
    When one verification operation of each type is sent to the new release
    Then each operation is routed as the routing matrix prescribes
      | type       | route  |
      | emergency  | direct |
      | critical   | direct |
      | generation | direct |
      | routine    | mcp    |
    When the Bedrock client of the new release fails every call (its failure switch)
    Then an emergency verification operation is answered through MCP as a fallback from direct
    And Bedrock is healthy again after the failure switch is cleared

  @health_check @blocker
  Scenario: Circuit Breaker Status - fault tolerance and automatic recovery
    When the Bedrock circuit breaker of the new release is forced open
    Then a critical verification operation is routed to MCP because the circuit is open
    When the circuit breaker is reset and Bedrock answers
    Then the Bedrock circuit breaker is closed
    And a critical verification operation is routed direct again

  @health_check @blocker
  Scenario: Compliance Validator - GDPR and security compliance checks
    When a verification operation of every type containing an email address, a phone number, an IBAN and a card number is sent
    Then no answer contains any of that personal data
    And Bedrock's invocation logs and the release's audit of its MCP tool calls hold none of that personal data
    And the ComplianceValidator component of every serving slot is healthy

  @health_check @blocker
  Scenario: Audit Trail System - logging and audit trail integrity
    Then the audit trail of every serving slot verifies as an unbroken hash chain
    And the operations sent by these health checks are in the audit trail

  @health_check @blocker
  Scenario: Monitoring Systems - CloudWatch, alerting and dashboard functionality
    Then the metrics of the new release are readable from CloudWatch
    And an alarm raised through the alerting path reaches its notification topic
    And the existing operations dashboard is readable
