@phase1
Feature: Phase 1 - Pre-Deployment Validation
  Ensure all prerequisites are met before production deployment (plan: Phase 1, 30 minutes).
  Every check reads evidence produced for the release under deployment; evidence that is
  missing, empty, unreadable or about another release makes the check inconclusive, which
  is a no-go.

  Background:
    Given the pre-deployment evidence of the release under deployment

  @gate @blocker
  Scenario: Staging deployment is complete
    Then the staging evidence was produced for the release under deployment
    And the staging evidence covers the release artifact by its SHA-256

  @gate @blocker
  Scenario: All staging test suites pass with more than 95% success
    Given the staging test results of the release
    Then the results include the test suites "unit, integration, performance, security"
    And every test suite has at least 1 test
    And the success rate across all staging tests is above 95 percent

  @gate @blocker
  Scenario: Security scan shows zero critical vulnerabilities
    Given the security scan report of the release artifact
    Then the scan includes the static analysis and the dependency audit
    And the number of critical findings is at most 0

  @gate @critical
  Scenario: Operations team certification is completed
    Given the operations training record
    Then the record certifies the operations team for the release under deployment
    And the record is signed by a trusted Operations Team key and has not expired

  @gate @critical
  Scenario: Rollback procedures are validated in staging
    Given the staging rollback drill record
    Then the drill covered the rollback tiers "immediate, partial, full"
    And every drilled tier was verified and finished within its target time

  @gate @blocker
  Scenario: The feature files keep every threshold of the plan
    Then no feature file loosens or drops a threshold of the deployment plan
