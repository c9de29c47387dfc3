@approvals
Feature: Pre-Deployment Approvals
  The plan's Approval Workflow: four approvals authorise the deployment. Each approval is a
  record signed with the approver's Ed25519 key, bound to one release and to the text of the
  deployment plan (its SHA-256), and valid until it expires. A missing, expired, wrong-release,
  wrong-plan, forged or duplicated approval is a no-go that names the approval.

  Background:
    Given the approval records of the release under deployment

  @gate @blocker
  Scenario Outline: The <role> approval authorises the release
    Then the "<role>" approval is present
    And the "<role>" approval is signed by a trusted key for that role
    And the "<role>" approval is bound to the release under deployment
    And the "<role>" approval is bound to the text of the deployment plan by its SHA-256
    And the "<role>" approval has not expired

    Examples:
      | role            |
      | CTO             |
      | Security Team   |
      | Operations Team |
      | Product Owner   |

  @gate @blocker
  Scenario: Each approval rests on its approval criterion
    Then the approvals reference their evidence by SHA-256
      | role            | criterion                                         | evidence                  |
      | CTO             | Overall deployment authorization                  | staging test results      |
      | Security Team   | Security review completed with zero critical issues | security scan report    |
      | Operations Team | Operations team training completed and certified  | operations training record |
      | Product Owner   | Business impact assessment approved               | business impact assessment |

  @gate @critical
  Scenario Outline: A <problem> approval is a no-go that names it
    Given a copy of the approval records where the "Security Team" approval is <problem>
    When the approvals are checked
    Then the verdict is no-go
    And the reason names the "Security Team" approval as <problem>

    Examples:
      | problem               |
      | missing               |
      | expired               |
      | for another release   |
      | for another plan text |
      | signed by another key |
      | tampered after signing |
      | duplicated            |
