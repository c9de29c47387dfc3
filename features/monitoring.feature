@phase7
Feature: Phase 7 - Monitoring Activation
  Activate comprehensive monitoring and alerting (plan: Phase 7, 15 minutes). Dashboards and
  alarms are created idempotently; each dashboard widget must point at a metric the service
  really publishes, and each alarm's threshold must equal its gate's threshold.

  @monitoring @critical
  Scenario: CloudWatch dashboard for hybrid routing metrics and performance
    Then the hybrid routing dashboard exists with these widgets
      | widget                 |
      | latency by route       |
      | error rate             |
      | cost against budget    |
      | cache hit rate         |
      | route mix              |
      | circuit breaker states |
    And every widget of the dashboard shows a metric the new release publishes

  @monitoring @critical
  Scenario Outline: Performance alert on <alert>
    Then the alarm "<alarm>" exists with threshold <threshold> <unit>
    And the alarm "<alarm>" notifies the on-call topic

    Examples:
      | alert                      | alarm                 | threshold | unit    |
      | P95 latency of generation  | p95-latency-generation | 1500     | ms      |
      | P95 latency of cached      | p95-latency-cached    | 300       | ms      |
      | error rate                 | error-rate            | 1.0       | percent |
      | cost                       | cost-budget           | 80        | percent |

  @monitoring @critical
  Scenario Outline: <kind> alert on <alert>
    Then the alarm "<alarm>" exists with threshold <threshold> <unit>
    And the alarm "<alarm>" notifies the on-call topic

    Examples:
      | kind        | alert                   | alarm                 | threshold | unit  |
      | Security    | compliance violations   | compliance-violations | 0         | count |
      | Security    | PII reaching a model    | pii-leak              | 0         | count |
      | Operational | health check failures   | health-check-failures | 0         | count |
      | Operational | circuit breaker open    | circuit-open          | 0         | count |

  @monitoring @critical
  Scenario: Every alarm is evaluated against the metrics the release publishes and none is breached
    Phase 6 opens the Bedrock circuit and has a residency violation blocked on purpose; the event
    alarms (compliance violations, PII, health-check failures, open circuits) are evaluated over a
    window that starts after those probes, the load alarms over their whole window.
    Given the event alarms' window starts after phase 6's deliberate probes
    Then every alarm of the release evaluates to OK from the published metrics
